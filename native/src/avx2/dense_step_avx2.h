/* dense_step_avx2.h - the fused dense client step's parts that do not depend on how the Hessian is formed: the
 * per-entry finish (M, its squares, S, the shift update and the stores), whole rows finished from a panel's buffer,
 * and rows formed and finished in strips. Shared by the AVX2 step (dense_step_avx2.c) and the AVX-512 one
 * (avx512/dense_step_avx512.c), whose finishes must give the same bits. */
#ifndef FEDNL_DENSE_STEP_AVX2_H
#define FEDNL_DENSE_STEP_AVX2_H

#include "../internal.h"
#include "natural_avx2.h"

#include <immintrin.h>

/* The strips' loops over their vectors must unroll, or their accumulators live on the stack. */
#if defined(__clang__)
#define UNROLL_VECTORS _Pragma("unroll 12")
#elif defined(__GNUC__)
#define UNROLL_VECTORS _Pragma("GCC unroll 12")
#else
#define UNROLL_VECTORS
#endif

/* The running sums: even holds row positions t mod 8 in 0..3, odd 4..7 (strips start at multiples of 48, so vector
 * q of a strip goes to even when q is even). */
typedef struct dense_sums_avx2 {
    __m256d squares_even, squares_odd, remaining_even, remaining_odd;
    double diagonal, remaining_diagonal;
    __m256i counters; /* natural: the draw counters of the next four entries */
} dense_sums_avx2;

static const int64_t first_lanes_mask[4][4] = {{0, 0, 0, 0}, {-1, 0, 0, 0}, {-1, -1, 0, 0}, {-1, -1, -1, 0}};

static inline __m256d load4(const double *p, int count, __m256i mask) {
    return count == 4 ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, mask);
}

static inline void store4(double *p, __m256d v, int count, __m256i mask) {
    if (count == 4) _mm256_storeu_pd(p, v);
    else _mm256_maskstore_pd(p, mask, v);
}

/* Everything after the Hessian for the four entries h at packed offset e, vector q of its strip (diagonal: the row's
 * first four, whose lane 0 is the diagonal entry); count < 4 lanes in the row's last, partial vector (its other
 * lanes hold zeros and are not stored). */
static inline __attribute__((always_inline)) void finish4(const fednl_dense_job *job, __m256d h, int q, int diagonal,
                                                          int64_t e, int count, __m256i mask, dense_sums_avx2 *sums) {
    if (diagonal) h = _mm256_blend_pd(h, _mm256_add_pd(h, _mm256_set1_pd(job->lambda)), 1);
    if (job->mode == FEDNL_DENSE_HESSIAN) {
        store4(job->out + e, h, count, mask);
        return;
    }
    __m256d shift = load4(job->shift + e, count, mask), m = _mm256_sub_pd(h, shift);
    if (q & 1) sums->squares_odd = _mm256_fmadd_pd(m, m, sums->squares_odd);
    else sums->squares_even = _mm256_fmadd_pd(m, m, sums->squares_even);
    if (diagonal) {
        double m0 = _mm256_cvtsd_f64(m);
        sums->diagonal = fma(m0, m0, sums->diagonal);
    }
    if (job->mode == FEDNL_DENSE_DIFFERENCE) {
        store4(job->out + e, m, count, mask);
        return;
    }
    __m256d s = m;
    if (job->mode == FEDNL_DENSE_NATURAL) {
        s = fednl_natural4_full_avx2(m, fednl_mix64_avx2(sums->counters));
        sums->counters = _mm256_add_epi64(sums->counters, fednl_counter_step_avx2());
    }
    store4(job->out + e, s, count, mask);
    store4(job->shift + e, _mm256_fmadd_pd(_mm256_set1_pd(job->alpha), s, shift), count, mask);
    if (job->remaining) {
        __m256d r = _mm256_fnmadd_pd(_mm256_set1_pd(job->alpha), s, m);
        if (q & 1) sums->remaining_odd = _mm256_fmadd_pd(r, r, sums->remaining_odd);
        else sums->remaining_even = _mm256_fmadd_pd(r, r, sums->remaining_even);
        if (diagonal) {
            double r0 = _mm256_cvtsd_f64(r);
            sums->remaining_diagonal = fma(r0, r0, sums->remaining_diagonal);
        }
    }
}

/* vectors (a constant once inlined) vectors of row i from position t, a multiple of 48; the last has count lanes. */
static inline __attribute__((always_inline)) void strip(const fednl_dense_job *job, int64_t i, int64_t t, int64_t e,
                                                        int vectors, int count, dense_sums_avx2 *sums) {
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)first_lanes_mask[count & 3]);
    __m256d acc[12];
    UNROLL_VECTORS
    for (int q = 0; q < vectors; q++) acc[q] = _mm256_setzero_pd();
    const double *row = job->a, *weight = job->weights;
    for (int64_t j = 0; j < job->rows; j++, row += job->dim) {
        __m256d c = _mm256_set1_pd(weight[j] * row[i]);
        const double *from = row + i + t;
        UNROLL_VECTORS
        for (int q = 0; q + 1 < vectors; q++) acc[q] = _mm256_fmadd_pd(c, _mm256_loadu_pd(from + 4 * q), acc[q]);
        acc[vectors - 1] = _mm256_fmadd_pd(c, load4(from + 4 * (vectors - 1), count, mask), acc[vectors - 1]);
    }
    UNROLL_VECTORS
    for (int q = 0; q + 1 < vectors; q++) finish4(job, acc[q], q, q == 0 && t == 0, e + 4 * q, 4, mask, sums);
    finish4(job, acc[vectors - 1], vectors - 1, vectors == 1 && t == 0, e + 4 * (vectors - 1), count, mask, sums);
}

/* Row i's length entries from h (padded to whole vectors) at packed offset e, as strip finishes them: vector q of
 * the row goes to the even sums when q is even, vector 0 holds the diagonal. */
static inline __attribute__((always_inline)) void finish_row(const fednl_dense_job *job, const double *h, int64_t e,
                                                             int64_t length, dense_sums_avx2 *sums) {
    int count = length & 3 ? (int)(length & 3) : 4;
    int64_t vectors = (length + 3) / 4, q = 1;
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)first_lanes_mask[count & 3]);
    if (vectors == 1) {
        finish4(job, load4(h, count, mask), 0, 1, e, count, mask, sums);
        return;
    }
    finish4(job, _mm256_loadu_pd(h), 0, 1, e, 4, mask, sums);
    for (; q + 2 < vectors; q += 2) { /* q odd */
        finish4(job, _mm256_loadu_pd(h + 4 * q), 1, 0, e + 4 * q, 4, mask, sums);
        finish4(job, _mm256_loadu_pd(h + 4 * q + 4), 0, 0, e + 4 * q + 4, 4, mask, sums);
    }
    if (q + 1 < vectors) { /* an odd full vector, then the even last one */
        finish4(job, _mm256_loadu_pd(h + 4 * q), 1, 0, e + 4 * q, 4, mask, sums);
        finish4(job, load4(h + 4 * q + 4, count, mask), 0, 0, e + 4 * q + 4, count, mask, sums);
    } else
        finish4(job, load4(h + 4 * q, count, mask), 1, 0, e + 4 * q, count, mask, sums);
}

/* Packed rows i .. i + live - 1 from a panel's Hessian h (row r at h + r stride, from column i), in order. */
static inline void finish_panel(const fednl_dense_job *job, int64_t i, int live, const double *h, int64_t stride,
                                dense_sums_avx2 *sums) {
    for (int r = 0; r < live; r++) {
        int64_t row = fednl_packed_row_offset(job->dim, i + r);
        sums->counters = fednl_counters_avx2(job->key, row);
        /* row i + r starts at column i + r: position r of the panel's row r */
        finish_row(job, h + r * stride + r, row, job->dim - i - r, sums);
    }
}

/* Packed row i in strips of up to 48 entries, each formed and finished in registers. */
static inline void row_in_strips(const fednl_dense_job *job, int64_t i, dense_sums_avx2 *sums) {
    int64_t length = job->dim - i, row = fednl_packed_row_offset(job->dim, i), t = 0;
    sums->counters = fednl_counters_avx2(job->key, row);
    for (; t + 48 <= length; t += 48) strip(job, i, t, row + t, 12, 4, sums);
    /* the rest of the row in one strip, so that its accumulators' chains overlap */
    int rest = (int)(length - t), count = rest & 3 ? rest & 3 : 4;
    switch ((rest + 3) / 4) {
    case 1: strip(job, i, t, row + t, 1, count, sums); break;
    case 2: strip(job, i, t, row + t, 2, count, sums); break;
    case 3: strip(job, i, t, row + t, 3, count, sums); break;
    case 4: strip(job, i, t, row + t, 4, count, sums); break;
    case 5: strip(job, i, t, row + t, 5, count, sums); break;
    case 6: strip(job, i, t, row + t, 6, count, sums); break;
    case 7: strip(job, i, t, row + t, 7, count, sums); break;
    case 8: strip(job, i, t, row + t, 8, count, sums); break;
    case 9: strip(job, i, t, row + t, 9, count, sums); break;
    case 10: strip(job, i, t, row + t, 10, count, sums); break;
    case 11: strip(job, i, t, row + t, 11, count, sums); break;
    case 12: strip(job, i, t, row + t, 12, count, sums); break;
    default: break;
    }
}

static inline void dense_sums_start(dense_sums_avx2 *sums) {
    sums->squares_even = sums->squares_odd = sums->remaining_even = sums->remaining_odd = _mm256_setzero_pd();
    sums->diagonal = sums->remaining_diagonal = 0.0;
}

static inline void dense_sums_store(const dense_sums_avx2 *sums, fednl_dense_sums *out) {
    _mm256_storeu_pd(out->squares, sums->squares_even);
    _mm256_storeu_pd(out->squares + 4, sums->squares_odd);
    _mm256_storeu_pd(out->remaining, sums->remaining_even);
    _mm256_storeu_pd(out->remaining + 4, sums->remaining_odd);
    out->diagonal = sums->diagonal;
    out->remaining_diagonal = sums->remaining_diagonal;
}

#endif
