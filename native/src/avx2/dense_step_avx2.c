/* dense_step_avx2.c - the fused dense client step with AVX2 + FMA (dense_step_parts.h): its register tiles of four
 * entries a vector. */
#define TILE_LANES 4
#include "dense_step_parts.h"

/* The panel's Hessian at columns col.. (vectors of 4, the last with count lanes) into h (row stride stride), from
 * weighted[4 j + r] = w_j a_j,i+r. */
static inline __attribute__((always_inline)) void panel_tile(const fednl_dense_job *job, const double *weighted, int64_t col,
                                                             int vectors, int count, double *h, int64_t stride,
                                                             panel_ahead *ahead) {
    prefetch_some(ahead);
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

#define DENSE_STEP_NAME fednl_dense_step_avx2
#include "dense_step_panels.h"
