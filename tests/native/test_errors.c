/* test_errors.c - last-error reporting and kernel-variant configuration. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

void test_last_error_truncates_and_reports_length(void);
void test_kernel_variant_selection(void);

void test_last_error_truncates_and_reports_length(void) {
    double norm;
    CHECK_STATUS(fednl_packed_frobenius_norm(-3, NULL, &norm), FEDNL_ERR_INVALID_ARGUMENT);
    int64_t length = fednl_last_error(NULL, 0);
    CHECK(length > 10);
    char small[8];
    CHECK(fednl_last_error(small, sizeof small) == length);
    CHECK(strlen(small) == 7);
    char full[FEDNL_ERROR_CAPACITY];
    fednl_last_error(full, sizeof full);
    CHECK(strstr(full, "-3") != NULL);
    CHECK(fednl_abi_version() == FEDNL_ABI_VERSION);
}

void test_kernel_variant_selection(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    CHECK(info.abi_version == FEDNL_ABI_VERSION);
    CHECK(info.blas_threads == 1);
    const char *requested = getenv("FEDNL_KERNEL");
    if (requested != NULL && strcmp(requested, "reference") == 0) CHECK(info.active_variant == FEDNL_KERNEL_REFERENCE);
    if (requested != NULL && strcmp(requested, "avx2") == 0) CHECK(info.active_variant == FEDNL_KERNEL_AVX2);
    if (requested != NULL && strcmp(requested, "avx512") == 0) CHECK(info.active_variant == FEDNL_KERNEL_AVX512);
    CHECK(!info.avx512_available || info.avx2_available);

    CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_REFERENCE), FEDNL_OK);
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    CHECK(info.active_variant == FEDNL_KERNEL_REFERENCE);
    CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_AVX2), info.avx2_available ? FEDNL_OK : FEDNL_ERR_UNSUPPORTED);
    CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_AVX512), info.avx512_available ? FEDNL_OK : FEDNL_ERR_UNSUPPORTED);
    if (info.avx512_available) {
        CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
        CHECK(info.active_variant == FEDNL_KERNEL_AVX512);
    }
    CHECK_STATUS(fednl_set_kernel_variant(7), FEDNL_ERR_INVALID_ARGUMENT);
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    /* The CPUID test every compiler uses agrees with the compiler's own (GCC and Clang only). */
    __builtin_cpu_init();
    CHECK(info.avx2_available == (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")));
    CHECK(info.avx512_available == (info.avx2_available && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                                    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")));
#endif
}
