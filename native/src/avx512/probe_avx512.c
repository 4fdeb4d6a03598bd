/* probe_avx512.c - AVX-512 loops of the FMA and gather probes (probe.c checks the arguments and chooses these when the
 * AVX-512 variant is active; its streaming probes are the AVX2 ones). Compiled with the AVX-512 flags. */
#include "../internal.h"

#include <immintrin.h>

/* 12 chains of 8 lanes: 96 FMAs per iteration. */
double fednl_probe_fma_avx512(int64_t iterations) {
    __m512d acc[12];
    for (int c = 0; c < 12; c++) acc[c] = _mm512_add_pd(_mm512_set1_pd(1.0 + c * 1e-3), _mm512_set_pd(7e-4, 6e-4, 5e-4, 4e-4, 3e-4, 2e-4, 1e-4, 0.0));
    const __m512d m = _mm512_set1_pd(0.999999), a = _mm512_set1_pd(1e-6);
    for (int64_t t = 0; t < iterations; t++) {
        acc[0] = _mm512_fmadd_pd(acc[0], m, a);
        acc[1] = _mm512_fmadd_pd(acc[1], m, a);
        acc[2] = _mm512_fmadd_pd(acc[2], m, a);
        acc[3] = _mm512_fmadd_pd(acc[3], m, a);
        acc[4] = _mm512_fmadd_pd(acc[4], m, a);
        acc[5] = _mm512_fmadd_pd(acc[5], m, a);
        acc[6] = _mm512_fmadd_pd(acc[6], m, a);
        acc[7] = _mm512_fmadd_pd(acc[7], m, a);
        acc[8] = _mm512_fmadd_pd(acc[8], m, a);
        acc[9] = _mm512_fmadd_pd(acc[9], m, a);
        acc[10] = _mm512_fmadd_pd(acc[10], m, a);
        acc[11] = _mm512_fmadd_pd(acc[11], m, a);
    }
    __m512d sum = acc[0];
    for (int c = 1; c < 12; c++) sum = _mm512_add_pd(sum, acc[c]);
    return _mm512_reduce_add_pd(sum);
}

/* 8 indices per vgatherdpd (zmm), four accumulators. */
double fednl_probe_gather_avx512(const int32_t *indices, int64_t count, const double *table, int64_t passes) {
    double total = 0.0;
    for (int64_t p = 0; p < passes; p++) {
        __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd(), s2 = _mm512_setzero_pd(), s3 = _mm512_setzero_pd();
        int64_t k = 0;
        for (; k + 32 <= count; k += 32) {
            s0 = _mm512_add_pd(s0, _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(const void *)(indices + k)), table, 8));
            s1 = _mm512_add_pd(s1, _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(const void *)(indices + k + 8)), table, 8));
            s2 = _mm512_add_pd(s2, _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(const void *)(indices + k + 16)), table, 8));
            s3 = _mm512_add_pd(s3, _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(const void *)(indices + k + 24)), table, 8));
        }
        double tail = 0.0;
        for (; k < count; k++) tail += table[indices[k]];
        total += _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3))) + tail;
    }
    return total;
}
