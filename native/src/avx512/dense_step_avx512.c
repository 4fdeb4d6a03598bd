/* dense_step_avx512.c - the fused dense client step of the AVX-512 variant: the AVX2 step (dense_step_parts.h) with
 * register tiles of eight entries a vector, so each sample's broadcasts and loads feed twice the multiply-adds. Each
 * entry keeps its own chain over the samples in order: the bits are the AVX2 step's. */
#define TILE_LANES 8
#include "../avx2/dense_step_parts.h"

/* The panel's Hessian at columns col.. (vectors of 8, the last with count lanes) into h (row stride stride), from
 * weighted[4 j + r] = w_j a_j,i+r; the last vector's missing lanes are neither loaded nor stored. */
static inline __attribute__((always_inline)) void panel_tile(const fednl_dense_job *job, const double *weighted, int64_t col,
                                                             int vectors, int count, double *h, int64_t stride,
                                                             panel_ahead *ahead) {
    prefetch_some(ahead);
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
    for (int r = 0; r < PANEL_ROWS; r++) {
        for (int q = 0; q + 1 < vectors; q++) _mm512_storeu_pd(h + r * stride + 8 * q, acc[r][q]);
        _mm512_mask_storeu_pd(h + r * stride + 8 * (vectors - 1), last, acc[r][vectors - 1]);
    }
}

#define DENSE_STEP_NAME fednl_dense_step_avx512
#include "../avx2/dense_step_panels.h"
