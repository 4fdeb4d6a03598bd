/* dense_step_parts.h - the fused dense client step (fednl_dense_job in internal.h) with AVX2 + FMA, before its
 * register tiles: the finish, the strips and the panels' prefetch. Clients that fit the panel buffers go in panels of
 * four packed rows (after their first dim mod 4 rows, which go in strips): their Hessian is formed in register tiles
 * (panel_tile, TILE_LANES entries a vector: dense_step_avx2.c's four, or the AVX-512 variant's eight) into an
 * L1-resident buffer, from which each row is finished (dense_step_panels.h). Larger ones go row by row in strips of
 * up to 48 entries whose Hessian accumulates in up to 12 registers over the client's rows and is finished while still
 * in registers. The finish (finish4) takes M, its squares, S, the shift update and the stores, so the shift is read
 * and written once. The operations and their order are the reference's, so the bits are too. */
#ifndef FEDNL_DENSE_STEP_PARTS_H
#define FEDNL_DENSE_STEP_PARTS_H

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

/* Register blocking: a panel of PANEL_ROWS packed rows i.. forms its Hessian over columns i.. in tiles of
 * PANEL_ROWS x TILE_LANES PANEL_VECTORS entries; per sample a tile takes PANEL_VECTORS loads of the sample's row, PANEL_ROWS
 * broadcasts of w_j a_ji (rounded as the reference rounds it) and PANEL_ROWS PANEL_VECTORS fmas, so the loads and
 * the loop's overhead are shared by four rows and even a short row's entries have twelve chains in flight. Each entry
 * still has its own chain over j ascending: the Hessian's bits are the reference's. The panel goes to a small buffer
 * (the finish must take its rows one after the other: the square sums run in that order) and each row is finished
 * from there as a strip is. Panels need PANEL_ROWS (dim + 4) doubles of buffer and PANEL_ROWS rows of weighted
 * entries, 64 KB of stack at most; larger clients go row by row in strips. The managed side's fused-step rule
 * (FedNLClient.FitsFusedStep) quotes these bounds. */
#define PANEL_ROWS 4 /* one vector of weighted entries per sample */
#define PANEL_VECTORS 3 /* 12 accumulators, 3 sample vectors and a broadcast: 16 registers */
#define PANEL_BUFFER 4096
#define PANEL_MAX_SAMPLES 1024

/* The lines of the next panel's shift and out that are still to be prefetched, and how many each tile takes. */
typedef struct panel_ahead {
    char *shift, *out;
    int64_t lines, per_tile;
    int write_shift; /* the finish stores the shift too: fetch it for writing */
} panel_ahead;

/* The finish streams the shift (and out) from L3 or memory, where the hardware prefetcher starts late on each
 * panel's short run and the stores to out wait for their lines: each tile fetches a share of the next panel's lines
 * (packed rows i + 4 .. i + 7, contiguous), so that they arrive while this panel's FMAs run. */
static panel_ahead next_panel_lines(const fednl_dense_job *job, int64_t i, int64_t width) {
    panel_ahead a = {NULL, NULL, 0, 0, 0};
    int64_t dim = job->dim;
    if (job->mode == FEDNL_DENSE_HESSIAN || i + PANEL_ROWS >= dim) return a;
    int64_t first = fednl_packed_row_offset(dim, i + PANEL_ROWS);
    int64_t end = fednl_packed_row_offset(dim, i + 2 * PANEL_ROWS < dim ? i + 2 * PANEL_ROWS : dim);
    int64_t tiles = (width + TILE_LANES * PANEL_VECTORS - 1) / (TILE_LANES * PANEL_VECTORS);
    a.shift = (char *)(job->shift + first);
    a.out = (char *)(job->out + first);
    a.lines = ((end - first) * 8 + 63) / 64 + 1;
    a.per_tile = (a.lines + tiles - 1) / tiles;
    a.write_shift = job->mode != FEDNL_DENSE_DIFFERENCE;
    return a;
}

static inline __attribute__((always_inline)) void prefetch_some(panel_ahead *a) {
    int64_t now = a->lines < a->per_tile ? a->lines : a->per_tile;
    for (int64_t l = 0; l < now; l++) {
        if (a->write_shift) _m_prefetchw(a->shift + 64 * l);
        else _mm_prefetch(a->shift + 64 * l, _MM_HINT_T1);
        _m_prefetchw(a->out + 64 * l);
    }
    a->shift += 64 * now;
    a->out += 64 * now;
    a->lines -= now;
}

#endif
