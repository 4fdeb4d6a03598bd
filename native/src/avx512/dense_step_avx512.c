/* dense_step_avx512.c - the fused dense client step (fednl_dense_job in internal.h) with its Hessian formed in zmm
 * register tiles: panels of PANEL_ROWS packed rows over columns in tiles of PANEL_ROWS x 8 PANEL_VECTORS entries
 * (per sample PANEL_VECTORS loads, PANEL_ROWS broadcasts of w_j a_ji, PANEL_ROWS PANEL_VECTORS fmas of eight lanes),
 * the panel's Hessian into a buffer and each row finished from there by the AVX2 finish (dense_step_avx2.h). Each
 * entry keeps its own fma chain over j ascending, so the bits are the reference's and the AVX2 step's. Clients past
 * the panel's bounds take the AVX2 step. */
#include "../avx2/dense_step_avx2.h"

#define PANEL_ROWS 4       /* one ymm of weighted entries per sample */
#define PANEL_VECTORS 3    /* 12 accumulators: with 16 GCC spilled one (measured 25 against 31 G FMA/s) */
#define PANEL_BUFFER 4112  /* PANEL_ROWS (dim + 8) doubles for dim up to 1020, the AVX2 panels' bound */
#define PANEL_MAX_SAMPLES 1024

/* The panel's Hessian at columns col.. (vectors of 8, the last with count lanes) into h (row stride stride), from
 * weighted[4 j + r] = w_j a_j,i+r. */
static inline __attribute__((always_inline)) void panel_tile(const fednl_dense_job *job, const double *weighted, int64_t col,
                                                             int vectors, int count, double *h, int64_t stride) {
    __mmask8 last = (__mmask8)((1u << count) - 1);
    __m512d acc[PANEL_ROWS][PANEL_VECTORS];
    for (int r = 0; r < PANEL_ROWS; r++)
        for (int q = 0; q < vectors; q++) acc[r][q] = _mm512_setzero_pd();
    const double *from = job->a + col;
    for (int64_t j = 0; j < job->rows; j++, from += job->dim, weighted += PANEL_ROWS) {
        __m512d x[PANEL_VECTORS];
        for (int q = 0; q + 1 < vectors; q++) x[q] = _mm512_loadu_pd(from + 8 * q);
        x[vectors - 1] = _mm512_maskz_loadu_pd(last, from + 8 * (vectors - 1));
        for (int r = 0; r < PANEL_ROWS; r++) {
            __m512d c = _mm512_set1_pd(weighted[r]);
            for (int q = 0; q < vectors; q++) acc[r][q] = _mm512_fmadd_pd(c, x[q], acc[r][q]);
        }
    }
    for (int r = 0; r < PANEL_ROWS; r++)
        for (int q = 0; q < vectors; q++) _mm512_storeu_pd(h + r * stride + 8 * q, acc[r][q]);
}

/* Packed rows i .. i + PANEL_ROWS - 1 (those below dim), their Hessian formed tile by tile, then finished in order. */
static void panel(const fednl_dense_job *job, int64_t i, double *weighted, double *h, dense_sums_avx2 *sums) {
    int64_t dim = job->dim, width = dim - i, stride = dim + 8, t = 0;
    int live = width < PANEL_ROWS ? (int)width : PANEL_ROWS;
    /* one product per lane, rounded as the reference's w_j * a_ji; rows past dim get 0 (their tiles are formed but
     * never finished) */
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)first_lanes_mask[live & 3]);
    const double *from = job->a + i;
    for (int64_t j = 0; j < job->rows; j++, from += dim)
        _mm256_storeu_pd(weighted + PANEL_ROWS * j, _mm256_mul_pd(_mm256_set1_pd(job->weights[j]), load4(from, live, mask)));
    for (; t + 8 * PANEL_VECTORS <= width; t += 8 * PANEL_VECTORS)
        panel_tile(job, weighted, i + t, PANEL_VECTORS, 8, h + t, stride);
    int rest = (int)(width - t), count = rest & 7 ? rest & 7 : 8;
    switch ((rest + 7) / 8) {
    case 1: panel_tile(job, weighted, i + t, 1, count, h + t, stride); break;
    case 2: panel_tile(job, weighted, i + t, 2, count, h + t, stride); break;
    case 3: panel_tile(job, weighted, i + t, 3, count, h + t, stride); break;
    default: break;
    }
    finish_panel(job, i, live, h, stride, sums);
}

void fednl_dense_step_avx512(const fednl_dense_job *given, fednl_dense_sums *out) {
    const fednl_dense_job job = *given; /* a local copy: the stores cannot alias it, so its fields stay in registers */
    if (PANEL_ROWS * (job.dim + 8) > PANEL_BUFFER || job.rows > PANEL_MAX_SAMPLES) {
        fednl_dense_step_avx2(given, out);
        return;
    }
    dense_sums_avx2 sums;
    dense_sums_start(&sums);
    double h[PANEL_BUFFER], weighted[PANEL_ROWS * PANEL_MAX_SAMPLES];
    for (int64_t i = 0; i < job.dim; i += PANEL_ROWS) panel(&job, i, weighted, h, &sums);
    dense_sums_store(&sums, out);
}
