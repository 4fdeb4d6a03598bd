/* dispatch.c - choosing the kernel variant (configuration, the library's only global state). */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(FEDNL_HAVE_OPENBLAS_THREADS)
#include <cblas.h>
#endif
#if !defined(_WIN32)
#include <pthread.h>
#endif
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

/* 0 until resolved, then a fednl_kernel_variant other than AUTO. */
static atomic_int active_variant;

/* AVX2 and FMA from CPUID, with the OS saving the AVX state (XCR0 bits 1 and 2): one test for every compiler,
 * so that the path MSVC takes is the one GCC and Clang builds run and test. */
#if defined(FEDNL_HAVE_AVX2_BUILD) && (defined(_MSC_VER) || defined(__GNUC__) || defined(__clang__)) && \
    (defined(_M_X64) || defined(_M_IX86) || defined(__x86_64__) || defined(__i386__))
static void cpuid(unsigned leaf, unsigned subleaf, unsigned r[4]) {
#if defined(_MSC_VER)
    int regs[4];
    __cpuidex(regs, (int)leaf, (int)subleaf);
    for (int i = 0; i < 4; i++) r[i] = (unsigned)regs[i];
#else
    __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
#endif
}

static unsigned long long xcr0(void) {
#if defined(_MSC_VER)
    return _xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#endif
}

static int avx2_available(void) {
    unsigned r[4];
    cpuid(0, 0, r);
    if (r[0] < 7) return 0;
    cpuid(1, 0, r);
    int fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (!(fma && osxsave && avx) || (xcr0() & 6) != 6) return 0;
    cpuid(7, 0, r);
    return (r[1] >> 5) & 1;
}

/* AVX-512 F, DQ, BW and VL (what the AVX-512 files are compiled for) on top of AVX2, with the OS saving the opmask
 * and ZMM state (XCR0 bits 5-7). */
static int avx512_available(void) {
#if defined(FEDNL_HAVE_AVX512_BUILD)
    if (!avx2_available() || (xcr0() & 0xE6) != 0xE6) return 0;
    unsigned r[4];
    cpuid(7, 0, r);
    unsigned f = (r[1] >> 16) & 1, dq = (r[1] >> 17) & 1, bw = (r[1] >> 30) & 1, vl = (r[1] >> 31) & 1;
    return (int)(f & dq & bw & vl);
#else
    return 0;
#endif
}
#else
static int avx2_available(void) { return 0; }
static int avx512_available(void) { return 0; }
#endif

/* AVX-512 where the CPU has it (its dense step's 8-lane tiles make dense clients' rounds faster, and it is AVX2 with
 * the same bits elsewhere: docs/benchmarks.md), else AVX2 where the CPU has that. */
static int best_variant(void) {
    if (avx512_available()) return FEDNL_KERNEL_AVX512;
    return avx2_available() ? FEDNL_KERNEL_AVX2 : FEDNL_KERNEL_REFERENCE;
}

/* Reads FEDNL_KERNEL. Returns the variant, or minus a fednl_status (with a message) for a value we do not know
 * or cannot run. */
static int variant_from_environment(void) {
    const char *value = getenv("FEDNL_KERNEL");
    if (value == NULL || value[0] == '\0' || strcmp(value, "auto") == 0) return best_variant();
    if (strcmp(value, "reference") == 0) return FEDNL_KERNEL_REFERENCE;
    if (strcmp(value, "avx2") == 0) {
        if (avx2_available()) return FEDNL_KERNEL_AVX2;
        return -fednl_fail(FEDNL_ERR_UNSUPPORTED, "FEDNL_KERNEL=avx2, but this CPU or build has no AVX2+FMA");
    }
    if (strcmp(value, "avx512") == 0) {
        if (avx512_available()) return FEDNL_KERNEL_AVX512;
        return -fednl_fail(FEDNL_ERR_UNSUPPORTED, "FEDNL_KERNEL=avx512, but this CPU or build has no AVX-512 F+DQ+BW+VL");
    }
    return -fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "FEDNL_KERNEL='%s' is not one of auto, reference, avx2, avx512", value);
}

int32_t fednl_active_variant(void) {
    int variant = atomic_load_explicit(&active_variant, memory_order_relaxed);
    if (variant == 0) {
        /* An unusable FEDNL_KERNEL falls back to the best variant here; fednl_set_kernel_variant(AUTO)
         * reports it as an error, which is what the managed layer calls at load time. */
        variant = variant_from_environment();
        if (variant < 0) variant = best_variant();
        int expected = 0;
        atomic_compare_exchange_strong(&active_variant, &expected, variant);
        variant = atomic_load(&active_variant);
    }
    return variant;
}

const fednl_vector_kernels *fednl_active_kernels(void) {
    int32_t variant = fednl_active_variant();
#if defined(FEDNL_HAVE_AVX512_BUILD)
    if (variant == FEDNL_KERNEL_AVX512) return fednl_vector_kernels_avx512();
#endif
#if defined(FEDNL_HAVE_AVX2_BUILD)
    if (variant == FEDNL_KERNEL_AVX2) return &fednl_vector_kernels_avx2;
#endif
    return &fednl_vector_kernels_reference;
}

FEDNL_API int32_t fednl_set_kernel_variant(int32_t variant) {
    switch (variant) {
    case FEDNL_KERNEL_AUTO: {
        int resolved = variant_from_environment();
        if (resolved < 0) return -resolved;
        atomic_store(&active_variant, resolved);
        return FEDNL_OK;
    }
    case FEDNL_KERNEL_REFERENCE:
        atomic_store(&active_variant, FEDNL_KERNEL_REFERENCE);
        return FEDNL_OK;
    case FEDNL_KERNEL_AVX2:
        if (!avx2_available())
            return fednl_fail(FEDNL_ERR_UNSUPPORTED, "the AVX2 kernels need a CPU with AVX2+FMA and an x86-64 build");
        atomic_store(&active_variant, FEDNL_KERNEL_AVX2);
        return FEDNL_OK;
    case FEDNL_KERNEL_AVX512:
        if (!avx512_available())
            return fednl_fail(FEDNL_ERR_UNSUPPORTED,
                              "the AVX-512 kernels need a CPU with AVX-512 F+DQ+BW+VL, enabled by the OS, and an x86-64 build");
        atomic_store(&active_variant, FEDNL_KERNEL_AVX512);
        return FEDNL_OK;
    default:
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "kernel variant %d is not a fednl_kernel_variant", (int)variant);
    }
}

#if defined(FEDNL_HAVE_OPENBLAS_THREADS) && !defined(_WIN32)
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single_thread(void) { openblas_set_num_threads(1); }
#endif

void fednl_blas_init(void) {
#if defined(FEDNL_HAVE_OPENBLAS_THREADS) && !defined(_WIN32)
    pthread_once(&blas_once, blas_single_thread);
#elif defined(FEDNL_HAVE_OPENBLAS_THREADS)
    openblas_set_num_threads(1);
#endif
}

FEDNL_API int32_t fednl_abi_version(void) { return FEDNL_ABI_VERSION; }

FEDNL_API int32_t fednl_get_build_info(fednl_build_info *info) {
    if (info == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "fednl_get_build_info: info is null");
    fednl_blas_init();
    info->abi_version = FEDNL_ABI_VERSION;
    info->active_variant = fednl_active_variant();
    info->avx2_available = avx2_available();
    info->avx512_available = avx512_available();
#if defined(FEDNL_HAVE_OPENBLAS_THREADS)
    info->blas_threads = openblas_get_num_threads();
#else
    info->blas_threads = 1;
#endif
    return FEDNL_OK;
}
