/* natural_avx2.h - natural compression's counter-based draws and rounding, four lanes at a time (AVX2). Shared by
 * the natural kernel and the fused dense client step; each lane gives fednl_natural_entry's bits. */
#ifndef FEDNL_NATURAL_AVX2_H
#define FEDNL_NATURAL_AVX2_H

#include "../compressors/compressor.h"

#include <immintrin.h>

/* a * c mod 2^64 per lane for a constant c split into its 32-bit halves (AVX2 multiplies 32 x 32 -> 64 only). */
static inline __m256i fednl_mul64_avx2(__m256i a, __m256i c_low, __m256i c_high) {
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), c_low), _mm256_mul_epu32(a, c_high));
    return _mm256_add_epi64(_mm256_mul_epu32(a, c_low), _mm256_slli_epi64(cross, 32));
}

/* fednl_mix64 per lane. */
static inline __m256i fednl_mix64_avx2(__m256i z) {
    z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 30));
    z = fednl_mul64_avx2(z, _mm256_set1_epi64x(0x1CE4E5B9), _mm256_set1_epi64x(0xBF58476D));
    z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 27));
    z = fednl_mul64_avx2(z, _mm256_set1_epi64x(0x133111EB), _mm256_set1_epi64x(0x94D049BB));
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

/* The counters key + (e + 1) gamma of entries e, e + 1, e + 2, e + 3; add fednl_counter_step_avx2() for the next
 * four. */
static inline __m256i fednl_counters_avx2(uint64_t key, int64_t e) {
    uint64_t base = key + ((uint64_t)e + 1) * FEDNL_COUNTER_GAMMA;
    return _mm256_set_epi64x((long long)(base + 3 * FEDNL_COUNTER_GAMMA), (long long)(base + 2 * FEDNL_COUNTER_GAMMA),
                             (long long)(base + FEDNL_COUNTER_GAMMA), (long long)base);
}

/* The counters of the entries at the (non-negative) packed offsets e. */
static inline __m256i fednl_offset_counters_avx2(uint64_t key, __m256i e) {
    __m256i next = _mm256_add_epi64(e, _mm256_set1_epi64x(1));
    __m256i scaled = fednl_mul64_avx2(next, _mm256_set1_epi64x((long long)(FEDNL_COUNTER_GAMMA & 0xFFFFFFFFu)),
                                      _mm256_set1_epi64x((long long)(FEDNL_COUNTER_GAMMA >> 32)));
    return _mm256_add_epi64(scaled, _mm256_set1_epi64x((long long)key));
}

static inline __m256i fednl_counter_step_avx2(void) { return _mm256_set1_epi64x((long long)(4 * FEDNL_COUNTER_GAMMA)); }

/* Natural compression of four entries with their draws. Normal lanes are rounded here: low = v with its mantissa
 * cleared, and 2 low = low plus one in the exponent field (infinity from the largest binade, as 2 * low gives), up
 * when (draw >> 12) < mantissa (both below 2^52, so a signed compare is exact); zeros come out as they went in (their
 * mantissa is 0, so never up). *special gets the mask of the other lanes whose exponent field is 0 or 2047
 * (subnormals, infinities, NaN; (field + 1) & 2046 is zero exactly for those and zeros), which the caller finishes
 * with fednl_natural_entry. Zeros stay on this path: a converged client's M is often exactly zero. */
static inline __m256d fednl_natural4_avx2(__m256d v, __m256i draws, int *special) {
    const __m256i mantissa = _mm256_set1_epi64x(0x000FFFFFFFFFFFFFll);
    __m256i bits = _mm256_castpd_si256(v), field = _mm256_srli_epi64(_mm256_slli_epi64(bits, 1), 53);
    __m256i edge = _mm256_and_si256(_mm256_add_epi64(field, _mm256_set1_epi64x(1)), _mm256_set1_epi64x(2046));
    __m256i zero = _mm256_cmpeq_epi64(_mm256_slli_epi64(bits, 1), _mm256_setzero_si256());
    *special = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_andnot_si256(zero, _mm256_cmpeq_epi64(edge, _mm256_setzero_si256()))));
    __m256i up = _mm256_cmpgt_epi64(_mm256_and_si256(bits, mantissa), _mm256_srli_epi64(draws, 12));
    __m256i low = _mm256_andnot_si256(mantissa, bits);
    return _mm256_castsi256_pd(_mm256_sub_epi64(low, _mm256_slli_epi64(up, 52)));
}

/* fednl_natural4_avx2 with its special lanes finished entry by entry. */
static inline __m256d fednl_natural4_full_avx2(__m256d v, __m256i draws) {
    int special;
    __m256d s = fednl_natural4_avx2(v, draws, &special);
    if (special != 0) {
        double lanes[4], in[4];
        uint64_t d[4];
        _mm256_storeu_pd(lanes, s);
        _mm256_storeu_pd(in, v);
        _mm256_storeu_si256((__m256i *)(void *)d, draws);
        for (int l = 0; l < 4; l++)
            if ((special >> l) & 1) lanes[l] = fednl_natural_entry(in[l], d[l]);
        s = _mm256_loadu_pd(lanes);
    }
    return s;
}

#endif
