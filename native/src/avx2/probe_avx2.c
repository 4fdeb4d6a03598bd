/* probe_avx2.c - AVX2 + FMA loops of the machine probes (probe.c checks the arguments and chooses these when the AVX2
 * variant is active). Compiled with -mavx2 -mfma. */
#include "../internal.h"

#include <immintrin.h>

static double horizontal_sum(__m256d v) {
    __m128d low = _mm256_castpd256_pd128(v);
    __m128d high = _mm256_extractf128_pd(v, 1);
    __m128d sum = _mm_add_pd(low, high);
    return _mm_cvtsd_f64(_mm_add_sd(sum, _mm_unpackhi_pd(sum, sum)));
}

double fednl_probe_stream_read_avx2(const double *source, int64_t length, int64_t passes) {
    double total = 0.0;
    for (int64_t p = 0; p < passes; p++) {
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
        int64_t i = 0;
        for (; i + 16 <= length; i += 16) {
            s0 = _mm256_add_pd(s0, _mm256_loadu_pd(source + i));
            s1 = _mm256_add_pd(s1, _mm256_loadu_pd(source + i + 4));
            s2 = _mm256_add_pd(s2, _mm256_loadu_pd(source + i + 8));
            s3 = _mm256_add_pd(s3, _mm256_loadu_pd(source + i + 12));
        }
        double tail = 0.0;
        for (; i < length; i++) tail += source[i];
        total += horizontal_sum(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3))) + tail;
    }
    return total;
}

double fednl_probe_stream_triad_avx2(const double *source, double *target, int64_t length, int64_t passes,
                                     double scale) {
    __m256d s = _mm256_set1_pd(scale);
    for (int64_t p = 0; p < passes; p++) {
        int64_t i = 0;
        for (; i + 8 <= length; i += 8) {
            __m256d y0 = _mm256_fmadd_pd(s, _mm256_loadu_pd(source + i), _mm256_loadu_pd(target + i));
            __m256d y1 = _mm256_fmadd_pd(s, _mm256_loadu_pd(source + i + 4), _mm256_loadu_pd(target + i + 4));
            _mm256_storeu_pd(target + i, y0);
            _mm256_storeu_pd(target + i + 4, y1);
        }
        for (; i < length; i++) target[i] = fma(scale, source[i], target[i]);
    }
    return target[0] + target[length - 1];
}

double fednl_probe_fma_avx2(int64_t iterations) {
    __m256d acc[12];
    for (int c = 0; c < 12; c++) acc[c] = _mm256_set_pd(1.0 + c * 1e-3, 1.0 + c * 2e-3, 1.0 + c * 3e-3, 1.0 + c * 4e-3);
    const __m256d m = _mm256_set1_pd(0.999999), a = _mm256_set1_pd(1e-6);
    for (int64_t t = 0; t < iterations; t++) {
        acc[0] = _mm256_fmadd_pd(acc[0], m, a);
        acc[1] = _mm256_fmadd_pd(acc[1], m, a);
        acc[2] = _mm256_fmadd_pd(acc[2], m, a);
        acc[3] = _mm256_fmadd_pd(acc[3], m, a);
        acc[4] = _mm256_fmadd_pd(acc[4], m, a);
        acc[5] = _mm256_fmadd_pd(acc[5], m, a);
        acc[6] = _mm256_fmadd_pd(acc[6], m, a);
        acc[7] = _mm256_fmadd_pd(acc[7], m, a);
        acc[8] = _mm256_fmadd_pd(acc[8], m, a);
        acc[9] = _mm256_fmadd_pd(acc[9], m, a);
        acc[10] = _mm256_fmadd_pd(acc[10], m, a);
        acc[11] = _mm256_fmadd_pd(acc[11], m, a);
    }
    __m256d sum = acc[0];
    for (int c = 1; c < 12; c++) sum = _mm256_add_pd(sum, acc[c]);
    return horizontal_sum(sum);
}

double fednl_probe_gather_avx2(const int32_t *indices, int64_t count, const double *table, int64_t passes) {
    double total = 0.0;
    for (int64_t p = 0; p < passes; p++) {
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
        int64_t k = 0;
        for (; k + 16 <= count; k += 16) {
            s0 = _mm256_add_pd(s0, _mm256_i32gather_pd(table, _mm_loadu_si128((const __m128i *)(indices + k)), 8));
            s1 = _mm256_add_pd(s1, _mm256_i32gather_pd(table, _mm_loadu_si128((const __m128i *)(indices + k + 4)), 8));
            s2 = _mm256_add_pd(s2, _mm256_i32gather_pd(table, _mm_loadu_si128((const __m128i *)(indices + k + 8)), 8));
            s3 = _mm256_add_pd(s3, _mm256_i32gather_pd(table, _mm_loadu_si128((const __m128i *)(indices + k + 12)), 8));
        }
        double tail = 0.0;
        for (; k < count; k++) tail += table[indices[k]];
        total += horizontal_sum(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3))) + tail;
    }
    return total;
}
