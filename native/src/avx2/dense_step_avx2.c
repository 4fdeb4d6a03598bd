/* dense_step_avx2.c - the fused dense client step (fednl_dense_job in internal.h) with AVX2 + FMA. Clients that fit
 * the panel buffers go in panels of four packed rows: their Hessian is formed in register tiles (panel_tile) into an
 * L1-resident buffer, from which each row is finished. Larger ones go row by row in strips of up to 48 entries whose
 * Hessian accumulates in up to 12 registers over the client's rows and is finished while still in registers. The
 * finish (dense_step_avx2.h) takes M, its squares, S, the shift update and the stores, so the shift is read and
 * written once. The operations and their order are the reference's, so the bits are too. */
#include "dense_step_avx2.h"

/* Register blocking: a panel of PANEL_ROWS packed rows i.. forms its Hessian over columns i.. in tiles of
 * PANEL_ROWS x 4 PANEL_VECTORS entries; per sample a tile takes PANEL_VECTORS loads of the sample's row, PANEL_ROWS
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

/* The panel's Hessian at columns col.. (vectors of 4, the last with count lanes) into h (row stride stride), from
 * weighted[4 j + r] = w_j a_j,i+r. */
static inline __attribute__((always_inline)) void panel_tile(const fednl_dense_job *job, const double *weighted, int64_t col,
                                                             int vectors, int count, double *h, int64_t stride) {
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)first_lanes_mask[count & 3]);
    __m256d acc[PANEL_ROWS][PANEL_VECTORS];
    for (int r = 0; r < PANEL_ROWS; r++)
        for (int q = 0; q < vectors; q++) acc[r][q] = _mm256_setzero_pd();
    const double *from = job->a + col;
    for (int64_t j = 0; j < job->rows; j++, from += job->dim, weighted += PANEL_ROWS) {
        __m256d x[PANEL_VECTORS];
        for (int q = 0; q + 1 < vectors; q++) x[q] = _mm256_loadu_pd(from + 4 * q);
        x[vectors - 1] = load4(from + 4 * (vectors - 1), count, mask);
        for (int r = 0; r < PANEL_ROWS; r++) {
            __m256d c = _mm256_broadcast_sd(weighted + r);
            for (int q = 0; q < vectors; q++) acc[r][q] = _mm256_fmadd_pd(c, x[q], acc[r][q]);
        }
    }
    for (int r = 0; r < PANEL_ROWS; r++)
        for (int q = 0; q < vectors; q++) _mm256_storeu_pd(h + r * stride + 4 * q, acc[r][q]);
}

/* Packed rows i .. i + PANEL_ROWS - 1 (those below dim), their Hessian formed tile by tile, then finished in order. */
static void panel(const fednl_dense_job *job, int64_t i, double *weighted, double *h, dense_sums_avx2 *sums) {
    int64_t dim = job->dim, width = dim - i, stride = dim + 4, t = 0;
    int live = width < PANEL_ROWS ? (int)width : PANEL_ROWS;
    /* one product per lane, rounded as the reference's w_j * a_ji; rows past dim get 0 (their tiles are formed but
     * never finished) */
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)first_lanes_mask[live & 3]);
    const double *from = job->a + i;
    for (int64_t j = 0; j < job->rows; j++, from += dim)
        _mm256_storeu_pd(weighted + PANEL_ROWS * j, _mm256_mul_pd(_mm256_set1_pd(job->weights[j]), load4(from, live, mask)));
    for (; t + 4 * PANEL_VECTORS <= width; t += 4 * PANEL_VECTORS)
        panel_tile(job, weighted, i + t, PANEL_VECTORS, 4, h + t, stride);
    int rest = (int)(width - t), count = rest & 3 ? rest & 3 : 4;
    switch ((rest + 3) / 4) {
    case 1: panel_tile(job, weighted, i + t, 1, count, h + t, stride); break;
    case 2: panel_tile(job, weighted, i + t, 2, count, h + t, stride); break;
    case 3: panel_tile(job, weighted, i + t, 3, count, h + t, stride); break;
    default: break;
    }
    finish_panel(job, i, live, h, stride, sums);
}

void fednl_dense_step_avx2(const fednl_dense_job *given, fednl_dense_sums *out) {
    const fednl_dense_job job = *given; /* a local copy: the stores cannot alias it, so its fields stay in registers */
    dense_sums_avx2 sums;
    dense_sums_start(&sums);
    int64_t dim = job.dim;
    if (PANEL_ROWS * (dim + 4) <= PANEL_BUFFER && job.rows <= PANEL_MAX_SAMPLES) {
        double h[PANEL_BUFFER], weighted[PANEL_ROWS * PANEL_MAX_SAMPLES];
        for (int64_t i = 0; i < dim; i += PANEL_ROWS) panel(&job, i, weighted, h, &sums);
    } else
        for (int64_t i = 0; i < dim; i++) row_in_strips(&job, i, &sums);
    dense_sums_store(&sums, out);
}
