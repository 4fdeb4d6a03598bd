/* internal.h - declarations shared by the kernel's translation units; not part of the public interface. */
#ifndef FEDNL_INTERNAL_H
#define FEDNL_INTERNAL_H

#include "fednl.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Records a formatted message as the calling thread's last error and returns status. */
int32_t fednl_fail(int32_t status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Vector primitives that exist in a reference and an AVX2 form. All sums over index lists are
 * over distinct indices (CSR rows are strictly ascending), so the AVX2 scatters never collide. */
typedef struct fednl_vector_kernels {
    /* sum_k val[k] * x[idx[k]] */
    double (*sparse_dot)(int64_t nnz, const int32_t *idx, const double *val, const double *x);
    /* y[idx[k]] += alpha * val[k] */
    void (*sparse_axpy)(int64_t nnz, double alpha, const int32_t *idx, const double *val, double *y);
    /* packed += alpha * v v^T for the sparse vector v = (idx, val), upper triangle only */
    void (*sparse_rank1_packed)(int64_t dim, int64_t nnz, double alpha, const int32_t *idx, const double *val,
                                double *packed);
    /* sum of squares of the full symmetric matrix behind a packed upper triangle */
    double (*packed_sum_squares)(int64_t dim, const double *packed);
    /* A Hessian plan's gathers (hessian/plan.h): for each group of 4 entries and each lane l with entry[l] >= 0,
     * out[entry[l]] = scale[l] * sum_q w[sample[4q + l]] (each term times pair_value[4q + l] when that is not
     * null), the even q summed apart from the odd q and the two sums added last. sample holds uint16 or int32
     * row indices (width 2 or 4 bytes). */
    void (*plan_gather)(int64_t groups, const int32_t *length, const int32_t *entry, const double *scale,
                        const uint8_t *sample, int32_t width, const double *pair_value, const double *w, double *out);
    /* RandK over a pattern: values[c] = scale * m[t] for the pattern entry t at the c-th chosen index (the bits of
     * bitmap, D bits in words words; zero where a chosen index is off the pattern), shift[t] += alpha * that. Each
     * entry finds its slot by a popcount (rank holds one int32 per word), with no data-dependent branch: a merge of
     * two ascending lists mispredicts at every gap. offsets null means the pattern is every entry. */
    void (*randk_gather)(const int32_t *offsets, int64_t n, const double *m, double *shift, double alpha, double scale,
                         const uint64_t *bitmap, int64_t words, int32_t *rank, int64_t count, double *values);
    /* m[t] = h[t] - shift[t]; returns sum of m[t]^2 */
    double (*difference_squares)(int64_t n, const double *h, const double *shift, double *m);
} fednl_vector_kernels;

extern const fednl_vector_kernels fednl_vector_kernels_reference;
#if defined(FEDNL_HAVE_AVX2_BUILD)
extern const fednl_vector_kernels fednl_vector_kernels_avx2;
#endif

/* The variant selected by fednl_set_kernel_variant / FEDNL_KERNEL / the CPU. */
const fednl_vector_kernels *fednl_active_kernels(void);

/* Makes OpenBLAS run single-threaded inside our kernels (idempotent, thread-safe). */
void fednl_blas_init(void);

/* Offset of row i's diagonal entry in a packed upper triangle of order dim. */
static inline int64_t fednl_packed_row_offset(int64_t dim, int64_t i) { return i * dim - i * (i - 1) / 2; }

/* packed[fednl_packed_row_base(dim, i) + j] is entry (i, j) for j >= i. */
static inline int64_t fednl_packed_row_base(int64_t dim, int64_t i) { return i * dim - i * (i + 1) / 2; }

/* The body of randk_gather, for a popcount of the variant's choosing (a macro, so each variant inlines its own). */
#define FEDNL_RANDK_GATHER_BODY(POPCOUNT)                                                                       \
    memset(values, 0, (size_t)count * sizeof *values);                                                         \
    int32_t before = 0;                                                                                        \
    double sink = 0.0; /* unchosen entries store here: no load of values[slot], so no chain through memory */  \
    for (int64_t w = 0; w < words; w++) {                                                                      \
        rank[w] = before;                                                                                      \
        before += (int32_t)POPCOUNT(bitmap[w]);                                                                \
    }                                                                                                          \
    for (int64_t t = 0; t < n; t++) {                                                                          \
        int64_t e = offsets != NULL ? offsets[t] : t;                                                          \
        uint64_t word = bitmap[e >> 6], chosen = (word >> (e & 63)) & 1;                                       \
        int64_t slot = rank[e >> 6] + (int64_t)POPCOUNT(word & ((1ull << (e & 63)) - 1));                      \
        double *target = chosen ? &values[slot] : &sink;                                                       \
        double kept = chosen ? scale * m[t] : 0.0;                                                             \
        *target = kept;                                                                                        \
        shift[t] += alpha * kept;                                                                              \
    }                                                                                                          \
    (void)sink;

/* Index of the lowest set bit of a non-zero word. */
static inline int fednl_lowest_bit(uint64_t bits) {
#if defined(_MSC_VER)
    unsigned long index;
    _BitScanForward64(&index, bits);
    return (int)index;
#else
    return __builtin_ctzll(bits);
#endif
}

/* log(1 + exp(-z)) without overflow or loss of precision for large |z|. */
static inline double fednl_log1p_exp_neg(double z) {
    return z > 0.0 ? log1p(exp(-z)) : -z + log1p(exp(z));
}

/* sigma(-z) = 1 / (1 + exp(z)), stable for both signs. */
static inline double fednl_sigmoid_neg(double z) {
    if (z >= 0.0) {
        double e = exp(-z);
        return e / (1.0 + e);
    }
    return 1.0 / (1.0 + exp(z));
}

/* log(1 + exp(-z)) and *sigma_neg = sigma(-z) from one exp: the same values as the two functions above. */
static inline double fednl_logistic(double z, double *sigma_neg) {
    double e = exp(-fabs(z));
    *sigma_neg = z > 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
    return z > 0.0 ? log1p(e) : -z + log1p(e);
}

#endif /* FEDNL_INTERNAL_H */
