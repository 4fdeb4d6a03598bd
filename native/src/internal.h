/* internal.h - declarations shared by the kernel's translation units; not part of the public interface. */
#ifndef FEDNL_INTERNAL_H
#define FEDNL_INTERNAL_H

#include "fednl.h"
#include "random.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Records a formatted message as the calling thread's last error and returns status. */
int32_t fednl_fail(int32_t status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* FEDNL_OK when a buffer of length elements holds the needed ones; otherwise FEDNL_ERR_INVALID_ARGUMENT with a
 * message naming the function, the length argument and both sizes. The caller states every buffer's length
 * (fednl.h, "Buffer lengths"), so a short one is refused here instead of being overrun. */
int32_t fednl_check_length(const char *function, const char *argument, int64_t length, int64_t needed);

/* What the fused dense client step (hessian/dense_step.c) writes to out for each packed entry. */
typedef enum fednl_dense_mode {
    FEDNL_DENSE_HESSIAN = 0,    /* H */
    FEDNL_DENSE_DIFFERENCE = 1, /* M = H - shift */
    FEDNL_DENSE_IDENTICAL = 2,  /* S = M, and shift += alpha S */
    FEDNL_DENSE_NATURAL = 3     /* S = natural(M), and shift += alpha S */
} fednl_dense_mode;

/* One dense client's step over its rows a (rows x dim, row-major) with row weights w. Entry (i, k), i <= k, at packed
 * offset e, position t = k - i in its packed row:
 *   H = the chain h = fma(w_j a_ji, a_jk, h) over j = 0, 1, ... from h = +0 (w_j a_ji rounded first), + lambda if t = 0
 *   M = H - shift[e];  squares[t mod 8] = fma(M, M, squares[t mod 8]), and diagonal = fma(M, M, diagonal) if t = 0
 *   S = M or fednl_natural_entry(M, draw e of key);  shift[e] = fma(alpha, S, shift[e])
 *   with remaining: R = fma(-alpha, S, M), summed into remaining[] and remaining_diagonal as M is
 * rows i ascending, entries k ascending, so every variant gives the same bits. */
typedef struct fednl_dense_job {
    int32_t mode; /* fednl_dense_mode */
    int32_t remaining;
    int64_t rows, dim;
    const double *a, *weights;
    double lambda, alpha;
    uint64_t key;
    double *shift, *out; /* D entries each; shift unused in FEDNL_DENSE_HESSIAN */
} fednl_dense_job;

typedef struct fednl_dense_sums {
    double squares[8], diagonal, remaining[8], remaining_diagonal;
} fednl_dense_sums;

/* The oracle's loss sum spreads rows over FEDNL_LOSS_LANES lanes and takes one log per FEDNL_LOSS_BLOCK rows (see
 * fednl_loss_sum below). */
#define FEDNL_LOSS_BLOCK 512
#define FEDNL_LOSS_LANES 8

/* Vector primitives that exist in a reference and an AVX2 form (and AVX-512 for some). All sums over index lists are
 * over distinct indices (CSR rows are strictly ascending), so the AVX2 scatters never collide. */
typedef struct fednl_vector_kernels {
    /* sum_k val[k] * x[idx[k]] */
    double (*sparse_dot)(int64_t nnz, const int32_t *idx, const double *val, const double *x);
    /* y[idx[k]] += alpha * val[k] */
    void (*sparse_axpy)(int64_t nnz, double alpha, const int32_t *idx, const double *val, double *y);
    /* The oracle's step (loss_step.h) on count rows: for row j, coef[j] and weights[j], its linear part added to
     * linear[j mod 8] and its factor 1 + e_j multiplied into product[j mod 8]. */
    void (*loss_block)(int64_t count, const double *z, const double *labels, double inv_m, double linear[FEDNL_LOSS_LANES],
                       double product[FEDNL_LOSS_LANES], double *coef, double *weights);
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
    /* RandK over a pattern: for each of the count chosen packed indices, values[c] = scale * m[pos] at its pattern
     * position pos = rank[w] + the pattern bits below it in word w, or 0 when the index is off the pattern; then
     * shift[pos] += alpha * values[c]. One popcount per index and no data-dependent branch. pattern_bits null: the
     * pattern is every entry. */
    void (*randk_gather)(const int32_t *indices, int64_t count, const uint64_t *pattern_bits, const int32_t *rank,
                         const double *m, double *shift, double alpha, double scale, double *values);
    /* m[t] = h[t] - shift[t]; returns sum of m[t]^2 */
    double (*difference_squares)(int64_t n, const double *h, const double *shift, double *m);
    /* TopK's and TopLEK's first pass, each entry read once: difference_squares (the same bits), the keys of
     * fednl_entry_keys on m (diagonal: the dim ascending positions of the diagonal entries) and in *top their largest
     * exponent field, as fednl_top_field finds it; when key_sum is not null, the keys' sum as fednl_key_sum
     * (compressors/compressor.h) adds them. */
    double (*difference_keys)(int64_t n, const double *h, const double *shift, int64_t dim, const int32_t *diagonal,
                              double *m, double *keys, int64_t *top, double *key_sum);
    /* TopK's radix counts: counts[b] += how many of the n keys have min(top - (bits >> shift), 31) == b; keys with
     * (bits >> shift) > top are not counted. Needs |top - (bits >> shift)| < 2^31 for every key. */
    void (*count_fields)(int64_t n, const double *keys, int shift, int64_t top, int64_t counts[32]);
    /* Copies, in order, the in[t] whose field (bits >> shift) & mask equals bucket to out (out may be in);
     * returns how many. */
    int64_t (*collect_field)(int64_t n, const double *in, int shift, uint64_t mask, int64_t bucket, double *out);
    /* TopK's positions given the K-th largest key and how many keys exceed it (above): every t with
     * keys[t] > threshold and the first (lowest) k - above with keys[t] == threshold, ascending; returns k. */
    int64_t (*collect_positions)(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                                 int32_t *positions);
    /* collect_positions' choice applied by the pattern step, without the positions: for the c-th chosen t,
     * indices[c] = offsets[t] (t when offsets is null), values[c] = m[t] and shift[t] += alpha * m[t]; no other
     * shift entry changes. Returns the count. */
    int64_t (*collect_entries)(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                               const int32_t *offsets, const double *m, double alpha, double *shift, int32_t *indices,
                               double *values);
    /* fednl_natural (compressors/natural.c): entry t takes the draw of its packed offset, offsets[t] (t when null) */
    void (*natural)(int64_t count, const double *m, uint64_t key, const int32_t *offsets, double *values);
    /* The fused dense client step of fednl_dense_job over every packed row, its sums zeroed first. */
    void (*dense_step)(const fednl_dense_job *job, fednl_dense_sums *sums);
    /* The dense oracle's margins on row-major a (rows x cols): z[j] = labels[j] * (a_j . x), the dot product in
     * eight lanes (i mod 8, by fma) over whole blocks of eight, added as difference_squares adds its lanes, then the
     * tail by fma in order. */
    void (*dense_margins)(int64_t rows, int64_t cols, const double *a, const double *x, const double *labels,
                          double *z);
    /* The dense oracle's gradient: grad[i] = lambda * x[i], then grad[i] = fma(coef[j], a[j][i], grad[i]) for the
     * rows j in order. */
    void (*dense_gradient)(int64_t rows, int64_t cols, const double *a, const double *coef, double lambda,
                           const double *x, double *grad);
} fednl_vector_kernels;

/* Every variant's dense_margins after its lanes: the row's entries from `from` on by fma in order, then the label. */
static inline double fednl_margin_tail(const double *row, const double *x, int64_t from, int64_t cols, double dot,
                                       double label) {
    for (int64_t i = from; i < cols; i++) dot = fma(row[i], x[i], dot);
    return label * dot;
}

extern const fednl_vector_kernels fednl_vector_kernels_reference;
#if defined(FEDNL_HAVE_AVX2_BUILD)
extern const fednl_vector_kernels fednl_vector_kernels_avx2;
/* The AVX2 dense_step (avx2/dense_step_avx2.c). */
void fednl_dense_step_avx2(const fednl_dense_job *job, fednl_dense_sums *sums);
#endif
#if defined(FEDNL_HAVE_AVX512_BUILD)
/* The AVX-512 dense_step (avx512/dense_step_avx512.c): the AVX2 step's bits with 8-lane register tiles. */
void fednl_dense_step_avx512(const fednl_dense_job *job, fednl_dense_sums *sums);
#endif
#if defined(FEDNL_HAVE_AVX512_BUILD)
/* The AVX-512 table: the AVX2 one with the kernels that have an AVX-512 form (avx512/vector_kernels_avx512.c). */
const fednl_vector_kernels *fednl_vector_kernels_avx512(void);
#endif

#if defined(FEDNL_HAVE_AVX2_BUILD)
/* The AVX2 loops of the machine probes (avx2/probe_avx2.c); probe.c checks their arguments. */
double fednl_probe_stream_read_avx2(const double *source, int64_t length, int64_t passes);
double fednl_probe_stream_triad_avx2(const double *source, double *target, int64_t length, int64_t passes, double scale);
double fednl_probe_fma_avx2(int64_t iterations);
double fednl_probe_gather_avx2(const int32_t *indices, int64_t count, const double *table, int64_t passes);
#endif

#if defined(FEDNL_HAVE_AVX512_BUILD)
/* The AVX-512 loops of the FMA and gather probes (avx512/probe_avx512.c). */
double fednl_probe_fma_avx512(int64_t iterations);
double fednl_probe_gather_avx512(const int32_t *indices, int64_t count, const double *table, int64_t passes);
#endif

/* The variant selected by fednl_set_kernel_variant / FEDNL_KERNEL / the CPU. */
const fednl_vector_kernels *fednl_active_kernels(void);

/* Its fednl_kernel_variant (never FEDNL_KERNEL_AUTO). */
int32_t fednl_active_variant(void);

/* Makes OpenBLAS run single-threaded inside our kernels (idempotent, thread-safe). */
void fednl_blas_init(void);

/* Offset of row i's diagonal entry in a packed upper triangle of order dim. */
static inline int64_t fednl_packed_row_offset(int64_t dim, int64_t i) { return i * dim - i * (i - 1) / 2; }

/* packed[fednl_packed_row_base(dim, i) + j] is entry (i, j) for j >= i. */
static inline int64_t fednl_packed_row_base(int64_t dim, int64_t i) { return i * dim - i * (i + 1) / 2; }

/* The body of randk_gather, for a popcount of the variant's choosing (a macro, so each variant inlines its own). */
#define FEDNL_RANDK_GATHER_BODY(POPCOUNT)                                                                       \
    double sink = 0.0; /* off-pattern indices store here, so nothing waits on a load */                       \
    for (int64_t c = 0; c < count; c++) {                                                                      \
        int64_t e = indices[c];                                                                                \
        int64_t chosen = 1, pos = e;                                                                           \
        if (pattern_bits != NULL) {                                                                            \
            uint64_t word = pattern_bits[e >> 6];                                                              \
            chosen = (int64_t)((word >> (e & 63)) & 1);                                                        \
            pos = rank[e >> 6] + (int64_t)POPCOUNT(word & ((1ull << (e & 63)) - 1));                           \
        }                                                                                                      \
        double kept = chosen ? scale * m[chosen ? pos : 0] : 0.0;                                              \
        values[c] = kept;                                                                                      \
        double *target = chosen ? &shift[pos] : &sink;                                                         \
        *target += alpha * kept;                                                                               \
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

/* Index of the highest set bit of a non-zero word. */
static inline int fednl_highest_bit(uint64_t bits) {
#if defined(_MSC_VER)
    unsigned long index;
    _BitScanReverse64(&index, bits);
    return (int)index;
#else
    return 63 - __builtin_clzll(bits);
#endif
}

/* The loss sum_j log(1 + exp(-z_j)) over a client's rows, from the variants' loss_block (loss_step.h). With
 * e_j = exp(-|z_j|) each term is log(1 + e_j), plus -z_j when z_j <= 0. Row j's linear part goes to lane j mod 8 of
 * linear; its factor 1 + e_j, in [1, 2], to lane j mod 8 of product; after every FEDNL_LOSS_BLOCK rows the lanes'
 * products are combined in a fixed tree (below 2^512) and logged once. Rounding each factor and product costs at
 * most half an ulp: the error is that of summing the terms one by one. Every variant forms the same lanes in the
 * same order, so the sum has the same bits in all of them. */
typedef struct fednl_loss_sum {
    double linear[FEDNL_LOSS_LANES], product[FEDNL_LOSS_LANES], logs;
    int64_t rows;
} fednl_loss_sum;

static inline fednl_loss_sum fednl_loss_sum_start(void) {
    fednl_loss_sum s = {{0, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1}, 0.0, 0};
    return s;
}

/* The fixed combination of 8 lanes: lane l with lane l + 4, then those at distance 2, then the last two (one
 * zmm register's halves, then its quarters, as two ymm registers or eight scalars form it too). */
static inline double fednl_lanes_product(const double p[FEDNL_LOSS_LANES]) {
    return ((p[0] * p[4]) * (p[2] * p[6])) * ((p[1] * p[5]) * (p[3] * p[7]));
}

static inline double fednl_lanes_sum(const double p[FEDNL_LOSS_LANES]) {
    return ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
}

/* Adds the next count rows (their outputs to coef and weights). Every call but a client's last adds a multiple of
 * FEDNL_LOSS_LANES rows, so that row j stays in lane j mod 8. */
static inline void fednl_loss_sum_add(fednl_loss_sum *s, const fednl_vector_kernels *k, int64_t count, const double *z,
                                      const double *labels, double inv_m, double *coef, double *weights) {
    while (count > 0) {
        int64_t room = FEDNL_LOSS_BLOCK - s->rows % FEDNL_LOSS_BLOCK, piece = count < room ? count : room;
        k->loss_block(piece, z, labels, inv_m, s->linear, s->product, coef, weights);
        s->rows += piece;
        if (s->rows % FEDNL_LOSS_BLOCK == 0) {
            s->logs += log(fednl_lanes_product(s->product));
            for (int l = 0; l < FEDNL_LOSS_LANES; l++) s->product[l] = 1.0;
        }
        z += piece;
        labels += piece;
        coef += piece;
        weights += piece;
        count -= piece;
    }
}

/* Adds rows rows in pieces of FEDNL_LOSS_BLOCK; coef and weights (rows entries each) receive loss_block's outputs
 * when not null. */
void fednl_loss_sum_rows(fednl_loss_sum *s, const fednl_vector_kernels *k, int64_t rows, const double *z,
                         const double *labels, double inv_m, double *coef, double *weights);

static inline double fednl_loss_sum_total(const fednl_loss_sum *s) {
    return fednl_lanes_sum(s->linear) + (s->logs + log(fednl_lanes_product(s->product)));
}

#endif /* FEDNL_INTERNAL_H */
