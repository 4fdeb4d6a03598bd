/* vector_kernels_avx2.c - AVX2 + FMA forms of the vector primitives. Compiled with -mavx2 -mfma and only
 * called after the dispatcher has checked the CPU. Gathers replace the scalar indexed loads where they pay (the
 * Hessian plan); scatters stay scalar (AVX2 has none), which is safe because indices within one CSR row are
 * distinct. */
#include "../internal.h"
#include "../compressors/compressor.h"
#include "natural_avx2.h"

#include <immintrin.h>
#include <string.h>

/* How many entries ahead the streaming kernels prefetch a cold array: about 2 KB of doubles. */
#define FEDNL_PREFETCH_AHEAD 256

static double horizontal_sum(__m256d v) {
    __m128d low = _mm256_castpd256_pd128(v);
    __m128d high = _mm256_extractf128_pd(v, 1);
    __m128d sum = _mm_add_pd(low, high);
    return _mm_cvtsd_f64(_mm_add_sd(sum, _mm_unpackhi_pd(sum, sum)));
}

/* Four accumulators in fused multiply-adds, filled by scalar loads (a vgatherdpd of 4 was slower on Zen 5 for these
 * short rows, with the same sums). */
static double sparse_dot(int64_t nnz, const int32_t *idx, const double *val, const double *x) {
    __m256d acc = _mm256_setzero_pd();
    int64_t k = 0;
    for (; k + 4 <= nnz; k += 4) {
        __m256d gathered = _mm256_setr_pd(x[idx[k]], x[idx[k + 1]], x[idx[k + 2]], x[idx[k + 3]]);
        acc = _mm256_fmadd_pd(_mm256_loadu_pd(val + k), gathered, acc);
    }
    double sum = horizontal_sum(acc);
    for (; k < nnz; k++) sum = fma(val[k], x[idx[k]], sum);
    return sum;
}

/* Scalar fused multiply-adds, the same bits as the 4-lane form it replaces: that one gathered y right after the
 * previous row's scalar stores to the same entries (the intercept is in every row), and a gather waits for such
 * stores where a scalar load takes them forwarded (measured on Zen 5: the oracle 5-30 % faster per client). */
static void sparse_axpy(int64_t nnz, double alpha, const int32_t *idx, const double *val, double *y) {
    for (int64_t k = 0; k < nnz; k++) y[idx[k]] = fma(alpha, val[k], y[idx[k]]);
}

/* The loss step (loss_step.h) on 4 lanes. */
#define LS_V __m256d
#define LS_SET1(c) _mm256_set1_pd(c)
#define LS_ADD(a, b) _mm256_add_pd(a, b)
#define LS_SUB(a, b) _mm256_sub_pd(a, b)
#define LS_MUL(a, b) _mm256_mul_pd(a, b)
#define LS_DIV(a, b) _mm256_div_pd(a, b)
#define LS_FMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define LS_ABS(a) _mm256_andnot_pd(_mm256_set1_pd(-0.0), a)
#define LS_NEG(a) _mm256_xor_pd(a, _mm256_set1_pd(-0.0))
#define LS_MIN(c, a) _mm256_min_pd(c, a) /* c < a ? c : a */
#define LS_POSITIVE(z, a, b) _mm256_blendv_pd(b, a, _mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_GT_OQ))
#define LS_NONPOSITIVE(z, a) _mm256_and_pd(_mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_LE_OQ), a)
#define LS_EXPONENT(a) _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_castpd_si256(a), 52))
#include "../loss_step.h"

/* Rows 8i..8i+3 in one register and 8i+4..8i+7 in another, as lanes 0-3 and 4-7; a last partial group of 8 is
 * padded with z = +inf, whose factor is exactly 1 and linear part +0, so it changes no lane. */
static void loss_block(int64_t count, const double *z, const double *labels, double inv_m, double linear[FEDNL_LOSS_LANES],
                       double product[FEDNL_LOSS_LANES], double *coef, double *weights) {
    __m256d product_low = _mm256_loadu_pd(product), product_high = _mm256_loadu_pd(product + 4);
    __m256d linear_low = _mm256_loadu_pd(linear), linear_high = _mm256_loadu_pd(linear + 4), scale = _mm256_set1_pd(inv_m);
    __m256d factor, term, c, w;
    int64_t j = 0;
    for (; j + 8 <= count; j += 8) {
        ls_row(_mm256_loadu_pd(z + j), _mm256_loadu_pd(labels + j), scale, &factor, &term, &c, &w);
        product_low = _mm256_mul_pd(product_low, factor);
        linear_low = _mm256_add_pd(linear_low, term);
        _mm256_storeu_pd(coef + j, c);
        _mm256_storeu_pd(weights + j, w);
        ls_row(_mm256_loadu_pd(z + j + 4), _mm256_loadu_pd(labels + j + 4), scale, &factor, &term, &c, &w);
        product_high = _mm256_mul_pd(product_high, factor);
        linear_high = _mm256_add_pd(linear_high, term);
        _mm256_storeu_pd(coef + j + 4, c);
        _mm256_storeu_pd(weights + j + 4, w);
    }
    if (j < count) {
        double tail_z[8], tail_labels[8] = {0, 0, 0, 0, 0, 0, 0, 0}, tail_coef[8], tail_weights[8];
        for (int l = 0; l < 8; l++) tail_z[l] = j + l < count ? z[j + l] : INFINITY;
        for (int l = 0; j + l < count; l++) tail_labels[l] = labels[j + l];
        ls_row(_mm256_loadu_pd(tail_z), _mm256_loadu_pd(tail_labels), scale, &factor, &term, &c, &w);
        product_low = _mm256_mul_pd(product_low, factor);
        linear_low = _mm256_add_pd(linear_low, term);
        _mm256_storeu_pd(tail_coef, c);
        _mm256_storeu_pd(tail_weights, w);
        ls_row(_mm256_loadu_pd(tail_z + 4), _mm256_loadu_pd(tail_labels + 4), scale, &factor, &term, &c, &w);
        product_high = _mm256_mul_pd(product_high, factor);
        linear_high = _mm256_add_pd(linear_high, term);
        _mm256_storeu_pd(tail_coef + 4, c);
        _mm256_storeu_pd(tail_weights + 4, w);
        for (int l = 0; j + l < count; l++) {
            coef[j + l] = tail_coef[l];
            weights[j + l] = tail_weights[l];
        }
    }
    _mm256_storeu_pd(linear, linear_low);
    _mm256_storeu_pd(linear + 4, linear_high);
    _mm256_storeu_pd(product, product_low);
    _mm256_storeu_pd(product + 4, product_high);
}

/* The rank-1 update stays scalar: each product lands in a different row position, and measured on a w8a-shaped
 * client (350 x 301, 3.9 % dense) a gather/FMA/scalar-scatter form took 47 us against 40.5 us for the plain loop. */
static void sparse_rank1_packed(int64_t dim, int64_t nnz, double alpha, const int32_t *idx, const double *val,
                                double *packed) {
    fednl_vector_kernels_reference.sparse_rank1_packed(dim, nnz, alpha, idx, val, packed);
}

static double packed_sum_squares(int64_t dim, const double *packed) {
    int64_t total = dim * (dim + 1) / 2;
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    int64_t k = 0;
    for (; k + 8 <= total; k += 8) {
        __m256d a = _mm256_loadu_pd(packed + k), b = _mm256_loadu_pd(packed + k + 4);
        acc0 = _mm256_fmadd_pd(a, a, acc0);
        acc1 = _mm256_fmadd_pd(b, b, acc1);
    }
    double all = horizontal_sum(_mm256_add_pd(acc0, acc1));
    for (; k < total; k++) all = fma(packed[k], packed[k], all);
    double diagonal = 0.0;
    for (int64_t i = 0; i < dim; i++) {
        double v = packed[fednl_packed_row_offset(dim, i)];
        diagonal = fma(v, v, diagonal);
    }
    return 2.0 * all - diagonal;
}

/* Row indices of two consecutive slots (8 lanes) as two vectors of 4 int32. */
static inline void load_rows2(const uint8_t *sample, int32_t width, int64_t slot, __m128i *first, __m128i *second) {
    if (width == 2) {
        __m128i rows = _mm_loadu_si128((const __m128i *)(const void *)(sample + 8 * slot));
        *first = _mm_cvtepu16_epi32(rows);
        *second = _mm_cvtepu16_epi32(_mm_srli_si128(rows, 8));
    } else {
        __m256i rows = _mm256_loadu_si256((const __m256i *)(const void *)(sample + 16 * slot));
        *first = _mm256_castsi256_si128(rows);
        *second = _mm256_extracti128_si256(rows, 1);
    }
}

static inline __m128i load_rows1(const uint8_t *sample, int32_t width, int64_t slot) {
    if (width == 2) return _mm_cvtepu16_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(sample + 8 * slot)));
    return _mm_loadu_si128((const __m128i *)(const void *)(sample + 16 * slot));
}

/* Four pattern entries per gather: lane l of slot q reads the weight of the q-th row in entry l's list. Two
 * accumulators (even and odd slots) hide the add latency; the reference variant sums in the same order, so both
 * give the same bits. */
static void plan_gather(int64_t groups, const int32_t *length, const int32_t *entry, const double *scale,
                        const uint8_t *sample, int32_t width, const double *pair_value, const double *w, double *out) {
    for (int64_t g = 0; g < groups; g++) {
        __m256d even = _mm256_setzero_pd(), odd = _mm256_setzero_pd();
        __m128i r0, r1;
        int64_t n = length[g], q = 0;
        if (pair_value == NULL) {
            for (; q + 2 <= n; q += 2) {
                load_rows2(sample, width, q, &r0, &r1);
                even = _mm256_add_pd(even, _mm256_i32gather_pd(w, r0, 8));
                odd = _mm256_add_pd(odd, _mm256_i32gather_pd(w, r1, 8));
            }
            if (q < n) even = _mm256_add_pd(even, _mm256_i32gather_pd(w, load_rows1(sample, width, q), 8));
        } else {
            for (; q + 2 <= n; q += 2) {
                load_rows2(sample, width, q, &r0, &r1);
                even = _mm256_add_pd(even, _mm256_mul_pd(_mm256_i32gather_pd(w, r0, 8), _mm256_loadu_pd(pair_value + 4 * q)));
                odd = _mm256_add_pd(odd, _mm256_mul_pd(_mm256_i32gather_pd(w, r1, 8), _mm256_loadu_pd(pair_value + 4 * q + 4)));
            }
            if (q < n)
                even = _mm256_add_pd(even, _mm256_mul_pd(_mm256_i32gather_pd(w, load_rows1(sample, width, q), 8),
                                                         _mm256_loadu_pd(pair_value + 4 * q)));
            pair_value += 4 * n;
        }
        double lanes[4];
        _mm256_storeu_pd(lanes, _mm256_mul_pd(_mm256_loadu_pd(scale), _mm256_add_pd(even, odd)));
        for (int l = 0; l < 4; l++)
            if (entry[l] >= 0) out[entry[l]] = lanes[l];
        sample += 4 * n * width;
        entry += 4;
        scale += 4;
    }
}

static void randk_gather(const int32_t *indices, int64_t count, const uint64_t *pattern_bits, const int32_t *rank,
                         const double *m, double *shift, double alpha, double scale, double *values) {
    FEDNL_RANDK_GATHER_BODY(_mm_popcnt_u64)
}

static double difference_squares(int64_t n, const double *h, const double *shift, double *m) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    int64_t t = 0;
    for (; t + 8 <= n; t += 8) {
        __m256d a = _mm256_sub_pd(_mm256_loadu_pd(h + t), _mm256_loadu_pd(shift + t));
        __m256d b = _mm256_sub_pd(_mm256_loadu_pd(h + t + 4), _mm256_loadu_pd(shift + t + 4));
        _mm256_storeu_pd(m + t, a);
        _mm256_storeu_pd(m + t + 4, b);
        acc0 = _mm256_fmadd_pd(a, a, acc0);
        acc1 = _mm256_fmadd_pd(b, b, acc1);
    }
    double sum = horizontal_sum(_mm256_add_pd(acc0, acc1));
    return fednl_difference_squares_tail(t, n, h, shift, m, sum);
}

/* Lane tables for compress-stores from a 4-bit compare mask m: the set lanes' numbers in ascending order (as int32
 * offsets, and as the int32 halves of 4 doubles for vpermd), then zeros. */
static const int32_t set_lanes[16][4] = {
    {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {2, 0, 0, 0}, {0, 2, 0, 0}, {1, 2, 0, 0}, {0, 1, 2, 0},
    {3, 0, 0, 0}, {0, 3, 0, 0}, {1, 3, 0, 0}, {0, 1, 3, 0}, {2, 3, 0, 0}, {0, 2, 3, 0}, {1, 2, 3, 0}, {0, 1, 2, 3}};
static const int32_t set_double_lanes[16][8] = {
    {0, 1, 0, 1, 0, 1, 0, 1},
    {0, 1, 0, 1, 0, 1, 0, 1},
    {2, 3, 0, 1, 0, 1, 0, 1},
    {0, 1, 2, 3, 0, 1, 0, 1},
    {4, 5, 0, 1, 0, 1, 0, 1},
    {0, 1, 4, 5, 0, 1, 0, 1},
    {2, 3, 4, 5, 0, 1, 0, 1},
    {0, 1, 2, 3, 4, 5, 0, 1},
    {6, 7, 0, 1, 0, 1, 0, 1},
    {0, 1, 6, 7, 0, 1, 0, 1},
    {2, 3, 6, 7, 0, 1, 0, 1},
    {0, 1, 2, 3, 6, 7, 0, 1},
    {4, 5, 6, 7, 0, 1, 0, 1},
    {0, 1, 4, 5, 6, 7, 0, 1},
    {2, 3, 4, 5, 6, 7, 0, 1},
    {0, 1, 2, 3, 4, 5, 6, 7}};
static const int32_t first_lanes[5][4] = {{0, 0, 0, 0}, {-1, 0, 0, 0}, {-1, -1, 0, 0}, {-1, -1, -1, 0}, {-1, -1, -1, -1}};

/* fednl_diagonal_factors8 in registers: the factor 1 on the lanes of the diagonal entries in [t, t + 8), found by
 * comparing positions, since a vector load of eight scalar stores would wait for them (no store forwarding). */
static inline void diagonal_factors(int64_t t, int64_t n, int64_t dim, const int32_t *diagonal, int64_t *row,
                                    int64_t *next, __m256d *low, __m256d *high) {
    __m256i low_at = _mm256_setr_epi64x(t, t + 1, t + 2, t + 3), high_at = _mm256_setr_epi64x(t + 4, t + 5, t + 6, t + 7);
    __m256i low_diagonal = _mm256_setzero_si256(), high_diagonal = _mm256_setzero_si256();
    while (*next < t + 8) {
        __m256i at = _mm256_set1_epi64x(*next);
        low_diagonal = _mm256_or_si256(low_diagonal, _mm256_cmpeq_epi64(low_at, at));
        high_diagonal = _mm256_or_si256(high_diagonal, _mm256_cmpeq_epi64(high_at, at));
        (*row)++;
        *next = *row < dim ? (diagonal != NULL ? diagonal[*row] : fednl_packed_row_offset(dim, *row)) : n;
    }
    *low = _mm256_blendv_pd(*low, _mm256_set1_pd(1.0), _mm256_castsi256_pd(low_diagonal));
    *high = _mm256_blendv_pd(*high, _mm256_set1_pd(1.0), _mm256_castsi256_pd(high_diagonal));
}

/* difference_squares' loop (same accumulators, so the same sum), with keys (2 m^2, m^2 on the diagonal: a factor
 * of 1 or 2 times m, times m, as fednl_entry_keys rounds them) and their largest exponent field in the same pass. */
static double difference_keys(int64_t n, const double *h, const double *shift, int64_t dim, const int32_t *diagonal,
                              double *m, double *keys, int64_t *top, double *key_sum) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd(), two = _mm256_set1_pd(2.0);
    __m256d keys_low = _mm256_setzero_pd(), keys_high = _mm256_setzero_pd(); /* fednl_key_sum's lanes 0-3, 4-7 */
    __m256i fields = _mm256_setzero_si256(), field_mask = _mm256_set1_epi64x(0x7FF);
    int64_t row = 0, next = dim > 0 ? (diagonal != NULL ? diagonal[0] : 0) : n;
    int64_t t = 0;
    for (; t + 8 <= n; t += 8) {
        /* the client's shift comes from memory (every client's is touched once a round): ask for it early */
        _mm_prefetch((const char *)(shift + t + FEDNL_PREFETCH_AHEAD), _MM_HINT_T0);
        __m256d a = _mm256_sub_pd(_mm256_loadu_pd(h + t), _mm256_loadu_pd(shift + t));
        __m256d b = _mm256_sub_pd(_mm256_loadu_pd(h + t + 4), _mm256_loadu_pd(shift + t + 4));
        _mm256_storeu_pd(m + t, a);
        _mm256_storeu_pd(m + t + 4, b);
        acc0 = _mm256_fmadd_pd(a, a, acc0);
        acc1 = _mm256_fmadd_pd(b, b, acc1);
        __m256d fa = two, fb = two;
        if (next < t + 8) /* a diagonal entry in this block (about one block in three on w8a) */
            diagonal_factors(t, n, dim, diagonal, &row, &next, &fa, &fb);
        __m256d ka = _mm256_mul_pd(_mm256_mul_pd(fa, a), a), kb = _mm256_mul_pd(_mm256_mul_pd(fb, b), b);
        _mm256_storeu_pd(keys + t, ka);
        _mm256_storeu_pd(keys + t + 4, kb);
        /* the fields are below 2^11, so the low 32-bit halves' maximum is the 64-bit lanes' */
        __m256i fa_bits = _mm256_and_si256(_mm256_srli_epi64(_mm256_castpd_si256(ka), 52), field_mask);
        __m256i fb_bits = _mm256_and_si256(_mm256_srli_epi64(_mm256_castpd_si256(kb), 52), field_mask);
        fields = _mm256_max_epu32(fields, _mm256_max_epu32(fa_bits, fb_bits));
        keys_low = _mm256_add_pd(keys_low, ka);
        keys_high = _mm256_add_pd(keys_high, kb);
    }
    int64_t lanes_top[4];
    _mm256_storeu_si256((__m256i *)(void *)lanes_top, fields);
    *top = 0;
    for (int l = 0; l < 4; l++) *top = lanes_top[l] > *top ? lanes_top[l] : *top;
    double sum = horizontal_sum(_mm256_add_pd(acc0, acc1)), lanes[8];
    _mm256_storeu_pd(lanes, keys_low);
    _mm256_storeu_pd(lanes + 4, keys_high);
    return fednl_difference_keys_tail(t, n, h, shift, dim, diagonal, row, next, m, keys, top, sum, lanes, key_sum);
}

/* Adds the per-lane byte counters of one count_fields run (acc[j] byte 8 l + i: bin 8 j + i, lane l) to totals[j]
 * (lane i: bin 8 j + i). */
static inline void add_bin_bytes(const __m256i acc[4], __m256i totals[4]) {
    for (int j = 0; j < 4; j++) {
        /* bytes to 16 bits: lanes 0 and 1, then lanes 2 and 3; their sum, then its two halves (lanes 0 + 2, 1 + 3) */
        __m256i low = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(acc[j]));
        __m256i high = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(acc[j], 1));
        __m256i pairs = _mm256_add_epi16(low, high);
        __m128i sum = _mm_add_epi16(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
        totals[j] = _mm256_add_epi32(totals[j], _mm256_cvtepu16_epi32(sum));
    }
}

/* count_fields with the 32 bins' counters in registers: a key's bin b sets one byte, byte b mod 8 of accumulator
 * b / 8 in its lane, by shifting a one left 8 b - 64 j bits into each accumulator j (a shift of 64 or more, or below
 * 0, gives 0), so no count waits on a store. A lane's bytes hold 255 keys: they are added to 32-bit totals every 255 blocks. */
static void count_fields(int64_t n, const double *keys, int shift, int64_t top, int64_t counts[32]) {
    const __m256i one = _mm256_set1_epi64x(1), last = _mm256_set1_epi64x(31), limit = _mm256_set1_epi64x(top);
    const __m256i by64 = _mm256_set1_epi64x(64), by128 = _mm256_set1_epi64x(128), by192 = _mm256_set1_epi64x(192);
    __m128i by = _mm_cvtsi32_si128(shift);
    __m256i totals[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    int64_t t = 0;
    while (t + 4 <= n) {
        __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        int64_t end = n - t > 4 * 255 ? t + 4 * 255 : n;
        for (; t + 4 <= end; t += 4) {
            __m256i bits = _mm256_loadu_si256((const __m256i *)(const void *)(keys + t));
            /* |top - field| < 2^31, so a signed 32-bit minimum of the halves is the 64-bit one; a field above top
             * gives a negative shift, which no accumulator counts */
            __m256i bin = _mm256_min_epi32(_mm256_sub_epi64(limit, _mm256_srl_epi64(bits, by)), last);
            __m256i at = _mm256_slli_epi64(bin, 3);
            acc[0] = _mm256_add_epi64(acc[0], _mm256_sllv_epi64(one, at));
            acc[1] = _mm256_add_epi64(acc[1], _mm256_sllv_epi64(one, _mm256_sub_epi64(at, by64)));
            acc[2] = _mm256_add_epi64(acc[2], _mm256_sllv_epi64(one, _mm256_sub_epi64(at, by128)));
            acc[3] = _mm256_add_epi64(acc[3], _mm256_sllv_epi64(one, _mm256_sub_epi64(at, by192)));
        }
        add_bin_bytes(acc, totals);
    }
    int32_t bins[32];
    for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)(void *)(bins + 8 * j), totals[j]);
    for (int b = 0; b < 32; b++) counts[b] += bins[b];
    fednl_count_fields_tail(t, n, keys, shift, top, counts);
}

static int64_t collect_field(int64_t n, const double *in, int shift, uint64_t mask, int64_t bucket, double *out) {
    __m256i field_mask = _mm256_set1_epi64x((long long)mask), wanted = _mm256_set1_epi64x((long long)bucket);
    __m128i by = _mm_cvtsi32_si128(shift);
    int64_t count = 0, t = 0;
    for (; t + 4 <= n; t += 4) {
        /* the whole block is loaded before the store, which may overwrite it when out is in (count <= t) */
        __m256i bits = _mm256_loadu_si256((const __m256i *)(const void *)(in + t));
        __m256i field = _mm256_and_si256(_mm256_srl_epi64(bits, by), field_mask);
        int lanes = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(field, wanted)));
        __m256i packed = _mm256_permutevar8x32_epi32(bits, _mm256_loadu_si256((const __m256i *)(const void *)set_double_lanes[lanes]));
        _mm256_storeu_si256((__m256i *)(void *)(out + count), packed);
        count += _mm_popcnt_u32((unsigned)lanes);
    }
    return fednl_collect_field_tail(t, n, in, shift, mask, bucket, out, count);
}

/* lowest_lanes[mask][l]: the lowest min(l, popcount(mask)) set lanes of a 4-bit mask. */
static const uint8_t lowest_lanes[16][5] = {
    {0, 0, 0, 0, 0}, {0, 1, 1, 1, 1},  {0, 2, 2, 2, 2},   {0, 1, 3, 3, 3},   {0, 4, 4, 4, 4},   {0, 1, 5, 5, 5},
    {0, 2, 6, 6, 6}, {0, 1, 3, 7, 7},  {0, 8, 8, 8, 8},   {0, 1, 9, 9, 9},   {0, 2, 10, 10, 10}, {0, 1, 3, 11, 11},
    {0, 4, 12, 12, 12}, {0, 1, 5, 13, 13}, {0, 2, 6, 14, 14}, {0, 1, 3, 7, 15}};

/* The lanes of the four keys at `keys` that TopK takes: those above the threshold and ties while *ties_left lasts.
 * Ties take the lowest positions. Converged clients' keys often repeat a few tiny values, so tie lanes come at
 * random, often after the ties have run out: the branches go on how many ties are left (which changes state once
 * or twice a pass), never on which lanes tie. */
static inline int chosen_lanes(const double *keys, __m256d limit, int64_t *ties_left) {
    __m256d v = _mm256_loadu_pd(keys);
    int greater = _mm256_movemask_pd(_mm256_cmp_pd(v, limit, _CMP_GT_OQ));
    if (*ties_left <= 0) return greater;
    int equal = _mm256_movemask_pd(_mm256_cmp_pd(v, limit, _CMP_EQ_OQ));
    if (*ties_left < 4) equal = lowest_lanes[equal][*ties_left];
    *ties_left -= _mm_popcnt_u32((unsigned)equal);
    return greater | equal;
}

static int64_t collect_positions(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                                 int32_t *positions) {
    __m256d limit = _mm256_set1_pd(threshold);
    int64_t ties_left = k - above, count = 0, t;
    for (t = 0; t + 4 <= n && count < k; t += 4) {
        int lanes = chosen_lanes(keys + t, limit, &ties_left), taken = _mm_popcnt_u32((unsigned)lanes);
        __m128i at = _mm_add_epi32(_mm_set1_epi32((int32_t)t), _mm_loadu_si128((const __m128i *)(const void *)set_lanes[lanes]));
        /* positions holds exactly k, and count + taken <= k: a masked store only near the end (it is slow on AMD) */
        if (count + 4 <= k) _mm_storeu_si128((__m128i *)(void *)(positions + count), at);
        else _mm_maskstore_epi32(positions + count, _mm_loadu_si128((const __m128i *)(const void *)first_lanes[taken]), at);
        count += taken;
    }
    return fednl_collect_positions_tail(t, n, keys, threshold, ties_left, k, count, positions);
}

/* Blend masks for a 4-bit lane mask: all ones in the 64-bit lanes whose bit is set. */
static const int64_t lane_masks[16][4] = {
    {0, 0, 0, 0},   {-1, 0, 0, 0},   {0, -1, 0, 0},   {-1, -1, 0, 0},   {0, 0, -1, 0},   {-1, 0, -1, 0},
    {0, -1, -1, 0}, {-1, -1, -1, 0}, {0, 0, 0, -1},   {-1, 0, 0, -1},   {0, -1, 0, -1},  {-1, -1, 0, -1},
    {0, 0, -1, -1}, {-1, 0, -1, -1}, {0, -1, -1, -1}, {-1, -1, -1, -1}};

/* The output cursors of collect_entries. */
typedef struct entry_cursor {
    int32_t *index;
    double *value;
} entry_cursor;

/* One block's taken entries: their packed offsets (at) and M values packed to the cursor (masked stores only where
 * fewer than four slots remain before end), and shift += alpha M on their lanes only (a blend, so the other lanes
 * keep their bits, -0 included). */
static inline void take_block(int lanes, __m128i at, __m256d mv, __m256d alpha, double *shift, entry_cursor *out,
                              const int32_t *end) {
    __m256d sv = _mm256_loadu_pd(shift);
    __m256d in_lane = _mm256_loadu_pd((const double *)(const void *)lane_masks[lanes]);
    _mm256_storeu_pd(shift, _mm256_blendv_pd(sv, _mm256_add_pd(sv, _mm256_mul_pd(alpha, mv)), in_lane));
    at = _mm_castps_si128(_mm_permutevar_ps(_mm_castsi128_ps(at), _mm_loadu_si128((const __m128i *)(const void *)set_lanes[lanes])));
    __m256d packed = _mm256_castsi256_pd(_mm256_permutevar8x32_epi32(
        _mm256_castpd_si256(mv), _mm256_loadu_si256((const __m256i *)(const void *)set_double_lanes[lanes])));
    int taken = _mm_popcnt_u32((unsigned)lanes);
    if (end - out->index >= 4) {
        _mm_storeu_si128((__m128i *)(void *)out->index, at);
        _mm256_storeu_pd(out->value, packed);
    } else {
        __m128i first = _mm_loadu_si128((const __m128i *)(const void *)first_lanes[taken]);
        _mm_maskstore_epi32(out->index, first, at);
        _mm256_maskstore_pd(out->value, _mm256_cvtepi32_epi64(first), packed);
    }
    out->index += taken;
    out->value += taken;
}

/* collect_positions' choice, applied as the step needs it, in the same pass over the keys; no branch on lanes
 * (which blocks take nothing is unpredictable). Two loops, so that the pattern's one tests no null offsets. */
static int64_t collect_entries(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                               const int32_t *offsets, const double *m, double alpha, double *shift, int32_t *indices,
                               double *values) {
    __m256d limit = _mm256_set1_pd(threshold), a = _mm256_set1_pd(alpha);
    int64_t ties_left = k - above, t = 0;
    entry_cursor out = {indices, values};
    const int32_t *end = indices + k;
    if (offsets != NULL) {
        for (; t + 4 <= n && out.index < end; t += 4) {
            _mm_prefetch((const char *)(offsets + t + FEDNL_PREFETCH_AHEAD), _MM_HINT_T0); /* the plan's, from memory */
            int lanes = chosen_lanes(keys + t, limit, &ties_left);
            __m128i at = _mm_loadu_si128((const __m128i *)(const void *)(offsets + t));
            take_block(lanes, at, _mm256_loadu_pd(m + t), a, shift + t, &out, end);
        }
    } else {
        for (; t + 4 <= n && out.index < end; t += 4) {
            int lanes = chosen_lanes(keys + t, limit, &ties_left);
            __m128i at = _mm_add_epi32(_mm_set1_epi32((int32_t)t), _mm_setr_epi32(0, 1, 2, 3));
            take_block(lanes, at, _mm256_loadu_pd(m + t), a, shift + t, &out, end);
        }
    }
    return fednl_collect_entries_tail(t, n, keys, threshold, ties_left, k, out.index - indices, offsets, m, alpha, shift,
                                      indices, values);
}

/* Natural compression four entries at a time, each lane with its own counter-based draw (natural_avx2.h). */
static void natural(int64_t count, const double *m, uint64_t key, const int32_t *offsets, double *values) {
    int64_t t = 0;
    if (offsets == NULL) {
        __m256i counters = fednl_counters_avx2(key, 0), step = fednl_counter_step_avx2();
        for (; t + 4 <= count; t += 4) {
            _mm256_storeu_pd(values + t, fednl_natural4_full_avx2(_mm256_loadu_pd(m + t), fednl_mix64_avx2(counters)));
            counters = _mm256_add_epi64(counters, step);
        }
    } else {
        for (; t + 4 <= count; t += 4) {
            __m256i e = _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(const void *)(offsets + t)));
            _mm256_storeu_pd(values + t, fednl_natural4_full_avx2(_mm256_loadu_pd(m + t), fednl_mix64_avx2(fednl_offset_counters_avx2(key, e))));
        }
    }
    for (; t < count; t++)
        values[t] = fednl_natural_entry(m[t], fednl_counter_draw(key, offsets != NULL ? (uint64_t)offsets[t] : (uint64_t)t));
}

/* Four rows at a time, each in two accumulators (lanes 0-3 and 4-7 of the reference's eight), so the blocks of x are
 * loaded once for four rows and four dependency chains overlap. */
static void dense_margins(int64_t rows, int64_t cols, const double *a, const double *x, const double *labels, double *z) {
    int64_t whole = cols - cols % 8, j = 0;
    for (; j + 4 <= rows; j += 4) {
        const double *r0 = a + j * cols, *r1 = r0 + cols, *r2 = r1 + cols, *r3 = r2 + cols;
        __m256d lo0 = _mm256_setzero_pd(), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0, lo3 = lo0, hi3 = lo0;
        for (int64_t i = 0; i < whole; i += 8) {
            __m256d xl = _mm256_loadu_pd(x + i), xh = _mm256_loadu_pd(x + i + 4);
            lo0 = _mm256_fmadd_pd(_mm256_loadu_pd(r0 + i), xl, lo0);
            hi0 = _mm256_fmadd_pd(_mm256_loadu_pd(r0 + i + 4), xh, hi0);
            lo1 = _mm256_fmadd_pd(_mm256_loadu_pd(r1 + i), xl, lo1);
            hi1 = _mm256_fmadd_pd(_mm256_loadu_pd(r1 + i + 4), xh, hi1);
            lo2 = _mm256_fmadd_pd(_mm256_loadu_pd(r2 + i), xl, lo2);
            hi2 = _mm256_fmadd_pd(_mm256_loadu_pd(r2 + i + 4), xh, hi2);
            lo3 = _mm256_fmadd_pd(_mm256_loadu_pd(r3 + i), xl, lo3);
            hi3 = _mm256_fmadd_pd(_mm256_loadu_pd(r3 + i + 4), xh, hi3);
        }
        z[j] = fednl_margin_tail(r0, x, whole, cols, horizontal_sum(_mm256_add_pd(lo0, hi0)), labels[j]);
        z[j + 1] = fednl_margin_tail(r1, x, whole, cols, horizontal_sum(_mm256_add_pd(lo1, hi1)), labels[j + 1]);
        z[j + 2] = fednl_margin_tail(r2, x, whole, cols, horizontal_sum(_mm256_add_pd(lo2, hi2)), labels[j + 2]);
        z[j + 3] = fednl_margin_tail(r3, x, whole, cols, horizontal_sum(_mm256_add_pd(lo3, hi3)), labels[j + 3]);
    }
    for (; j < rows; j++) {
        const double *row = a + j * cols;
        __m256d lo = _mm256_setzero_pd(), hi = lo;
        for (int64_t i = 0; i < whole; i += 8) {
            lo = _mm256_fmadd_pd(_mm256_loadu_pd(row + i), _mm256_loadu_pd(x + i), lo);
            hi = _mm256_fmadd_pd(_mm256_loadu_pd(row + i + 4), _mm256_loadu_pd(x + i + 4), hi);
        }
        z[j] = fednl_margin_tail(row, x, whole, cols, horizontal_sum(_mm256_add_pd(lo, hi)), labels[j]);
    }
}

/* Each column's sum is its own chain in row order, so any grouping of columns gives the reference's bits: eight
 * vectors (32 columns) at a time keep eight chains in flight, then vectors, then scalars. */
static void dense_gradient(int64_t rows, int64_t cols, const double *a, const double *coef, double lambda, const double *x,
                           double *grad) {
    __m256d scale = _mm256_set1_pd(lambda);
    int64_t i = 0;
    for (; i + 32 <= cols; i += 32) {
        __m256d g[8];
        for (int v = 0; v < 8; v++) g[v] = _mm256_mul_pd(scale, _mm256_loadu_pd(x + i + 4 * v));
        for (int64_t j = 0; j < rows; j++) {
            const double *row = a + j * cols + i;
            __m256d c = _mm256_broadcast_sd(coef + j);
            for (int v = 0; v < 8; v++) g[v] = _mm256_fmadd_pd(c, _mm256_loadu_pd(row + 4 * v), g[v]);
        }
        for (int v = 0; v < 8; v++) _mm256_storeu_pd(grad + i + 4 * v, g[v]);
    }
    for (; i + 4 <= cols; i += 4) {
        __m256d g = _mm256_mul_pd(scale, _mm256_loadu_pd(x + i));
        for (int64_t j = 0; j < rows; j++) g = _mm256_fmadd_pd(_mm256_broadcast_sd(coef + j), _mm256_loadu_pd(a + j * cols + i), g);
        _mm256_storeu_pd(grad + i, g);
    }
    for (; i < cols; i++) {
        double g = lambda * x[i];
        for (int64_t j = 0; j < rows; j++) g = fma(coef[j], a[j * cols + i], g);
        grad[i] = g;
    }
}

const fednl_vector_kernels fednl_vector_kernels_avx2 = {
    sparse_dot,
    sparse_axpy,
    loss_block,
    sparse_rank1_packed,
    packed_sum_squares,
    plan_gather,
    randk_gather,
    difference_squares,
    difference_keys,
    count_fields,
    collect_field,
    collect_positions,
    collect_entries,
    natural,
    fednl_dense_step_avx2,
    dense_margins,
    dense_gradient,
};
