/* vector_kernels_avx512.c - AVX-512 forms of the kernels where they pay: M = H - shift with its squares (and TopK's
 * keys) and the oracle's loss step. Every other entry is the AVX2 one; the plan gather too, because 8-lane gathers
 * load no faster per element than 4-lane ones on the machines measured (docs/benchmarks.md). Compiled with
 * -mavx512f -mavx512dq -mavx512vl -mavx512bw (and AVX2 + FMA), and only called after the dispatcher has checked the
 * CPU. Each kernel associates its sums as the AVX2 kernel does: one zmm register holds the two ymm accumulators
 * the AVX2 loop keeps (lanes 0-3 and 4-7), and their halves are added in the AVX2 order at the end. */
#include "../internal.h"
#include "../compressors/compressor.h"

#include <immintrin.h>
#include <stdatomic.h>
#include <string.h>

static double horizontal_sum(__m256d v) {
    __m128d low = _mm256_castpd256_pd128(v);
    __m128d high = _mm256_extractf128_pd(v, 1);
    __m128d sum = _mm_add_pd(low, high);
    return _mm_cvtsd_f64(_mm_add_sd(sum, _mm_unpackhi_pd(sum, sum)));
}

/* The AVX2 pair (lanes 0-3) + (lanes 4-7). */
static inline __m256d halves_sum(__m512d v) {
    return _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
}

static double difference_squares(int64_t n, const double *h, const double *shift, double *m) {
    __m512d acc = _mm512_setzero_pd();
    int64_t t = 0;
    for (; t + 8 <= n; t += 8) {
        __m512d a = _mm512_sub_pd(_mm512_loadu_pd(h + t), _mm512_loadu_pd(shift + t));
        _mm512_storeu_pd(m + t, a);
        acc = _mm512_fmadd_pd(a, a, acc);
    }
    double sum = horizontal_sum(halves_sum(acc));
    return fednl_difference_squares_tail(t, n, h, shift, m, sum);
}

/* difference_squares' loop with the keys and their largest exponent field, as the AVX2 form. */
static double difference_keys(int64_t n, const double *h, const double *shift, int64_t dim, const int32_t *diagonal,
                              double *m, double *keys, int64_t *top, double *key_sum) {
    __m512d acc = _mm512_setzero_pd(), two = _mm512_set1_pd(2.0), key_lanes = _mm512_setzero_pd(); /* fednl_key_sum's */
    const __m512i exponent_mask = _mm512_set1_epi64(0x7FF);
    __m512i fields = _mm512_setzero_si512();
    int64_t row = 0, next = dim > 0 ? (diagonal != NULL ? diagonal[0] : 0) : n;
    int64_t t = 0;
    for (; t + 8 <= n; t += 8) {
        __m512d a = _mm512_sub_pd(_mm512_loadu_pd(h + t), _mm512_loadu_pd(shift + t));
        _mm512_storeu_pd(m + t, a);
        acc = _mm512_fmadd_pd(a, a, acc);
        __m512d factor = two;
        if (next < t + 8) { /* a diagonal entry in this block: factor 1 on its lanes, chosen by a mask (a vector load
                             * of eight scalar stores would wait for them: no store forwarding) */
            unsigned lanes = 0;
            while (next < t + 8) {
                lanes |= 1u << (next - t);
                row++;
                next = row < dim ? (diagonal != NULL ? diagonal[row] : fednl_packed_row_offset(dim, row)) : n;
            }
            factor = _mm512_mask_blend_pd((__mmask8)lanes, two, _mm512_set1_pd(1.0));
        }
        __m512d k = _mm512_mul_pd(_mm512_mul_pd(factor, a), a);
        _mm512_storeu_pd(keys + t, k);
        fields = _mm512_max_epu64(fields, _mm512_and_si512(_mm512_srli_epi64(_mm512_castpd_si512(k), 52), exponent_mask));
        key_lanes = _mm512_add_pd(key_lanes, k);
    }
    *top = (int64_t)_mm512_reduce_max_epu64(fields);
    double sum = horizontal_sum(halves_sum(acc)), lanes[8];
    _mm512_storeu_pd(lanes, key_lanes);
    return fednl_difference_keys_tail(t, n, h, shift, dim, diagonal, row, next, m, keys, top, sum, lanes, key_sum);
}

/* The AVX2 count_fields on eight lanes: a lane's bytes hold 255 keys, so its counters go to 32-bit totals every 255
 * blocks of eight. */
static void count_fields(int64_t n, const double *keys, int shift, int64_t top, int64_t counts[32]) {
    const __m512i one = _mm512_set1_epi64(1), last = _mm512_set1_epi64(31), limit = _mm512_set1_epi64(top);
    const __m512i by64 = _mm512_set1_epi64(64), by128 = _mm512_set1_epi64(128), by192 = _mm512_set1_epi64(192);
    const __m128i by = _mm_cvtsi32_si128(shift);
    __m256i totals[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    int64_t t = 0;
    while (t + 8 <= n) {
        __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
        int64_t end = n - t > 8 * 255 ? t + 8 * 255 : n;
        for (; t + 8 <= end; t += 8) {
            __m512i bits = _mm512_loadu_si512((const void *)(keys + t));
            __m512i at = _mm512_slli_epi64(_mm512_min_epi64(_mm512_sub_epi64(limit, _mm512_srl_epi64(bits, by)), last), 3);
            acc[0] = _mm512_add_epi64(acc[0], _mm512_sllv_epi64(one, at));
            acc[1] = _mm512_add_epi64(acc[1], _mm512_sllv_epi64(one, _mm512_sub_epi64(at, by64)));
            acc[2] = _mm512_add_epi64(acc[2], _mm512_sllv_epi64(one, _mm512_sub_epi64(at, by128)));
            acc[3] = _mm512_add_epi64(acc[3], _mm512_sllv_epi64(one, _mm512_sub_epi64(at, by192)));
        }
        for (int j = 0; j < 4; j++) {
            /* bytes to 16 bits (lanes 0-3, lanes 4-7), their sum, then halves until one lane of eight bins is left */
            __m512i wide = _mm512_add_epi16(_mm512_cvtepu8_epi16(_mm512_castsi512_si256(acc[j])),
                                            _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(acc[j], 1)));
            __m256i half = _mm256_add_epi16(_mm512_castsi512_si256(wide), _mm512_extracti64x4_epi64(wide, 1));
            __m128i sum = _mm_add_epi16(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
            totals[j] = _mm256_add_epi32(totals[j], _mm256_cvtepu16_epi32(sum));
        }
    }
    int32_t bins[32];
    for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)(void *)(bins + 8 * j), totals[j]);
    for (int b = 0; b < 32; b++) counts[b] += bins[b];
    fednl_count_fields_tail(t, n, keys, shift, top, counts);
}

/* The AVX2 collect_field on eight lanes, packing each block's wanted lanes with a compress (out may be in: the whole
 * block is loaded before the store, which writes at most up to the block's end). */
static int64_t collect_field(int64_t n, const double *in, int shift, uint64_t mask, int64_t bucket, double *out) {
    const __m512i field_mask = _mm512_set1_epi64((long long)mask), wanted = _mm512_set1_epi64((long long)bucket);
    const __m128i by = _mm_cvtsi32_si128(shift);
    int64_t count = 0, t = 0;
    for (; t + 8 <= n; t += 8) {
        __m512i bits = _mm512_loadu_si512((const void *)(in + t));
        __mmask8 lanes = _mm512_cmpeq_epi64_mask(_mm512_and_si512(_mm512_srl_epi64(bits, by), field_mask), wanted);
        _mm512_storeu_si512((void *)(out + count), _mm512_maskz_compress_epi64(lanes, bits));
        count += _mm_popcnt_u32(lanes);
    }
    return fednl_collect_field_tail(t, n, in, shift, mask, bucket, out, count);
}

/* The lanes of the eight keys at `keys` that TopK takes, as the AVX2 chosen_lanes picks them: those above the
 * threshold and, while *ties_left lasts, ties, the lowest positions first. */
static inline unsigned chosen_lanes8(const double *keys, __m512d limit, int64_t *ties_left) {
    __m512d v = _mm512_loadu_pd(keys);
    unsigned greater = _mm512_cmp_pd_mask(v, limit, _CMP_GT_OQ);
    if (*ties_left <= 0) return greater;
    unsigned equal = _mm512_cmp_pd_mask(v, limit, _CMP_EQ_OQ);
    if (*ties_left < 8) { /* keep the lowest *ties_left of them */
        unsigned kept = 0;
        for (int64_t l = 0; l < *ties_left && equal != 0; l++) {
            kept |= equal & (0u - equal);
            equal &= equal - 1;
        }
        equal = kept;
    }
    *ties_left -= _mm_popcnt_u32(equal);
    return greater | equal;
}

/* The AVX2 collect_positions on eight lanes: each block's taken positions packed with a compress, stored whole while
 * eight slots remain, masked after. */
static int64_t collect_positions(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                                 int32_t *positions) {
    const __m512d limit = _mm512_set1_pd(threshold);
    const __m256i lanes8 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t ties_left = k - above, count = 0, t;
    for (t = 0; t + 8 <= n && count < k; t += 8) {
        unsigned lanes = chosen_lanes8(keys + t, limit, &ties_left);
        int taken = _mm_popcnt_u32(lanes);
        __m256i at = _mm256_maskz_compress_epi32((__mmask8)lanes, _mm256_add_epi32(_mm256_set1_epi32((int32_t)t), lanes8));
        if (count + 8 <= k) _mm256_storeu_si256((__m256i *)(void *)(positions + count), at);
        else _mm256_mask_storeu_epi32(positions + count, (__mmask8)((1u << taken) - 1), at);
        count += taken;
    }
    return fednl_collect_positions_tail(t, n, keys, threshold, ties_left, k, count, positions);
}

/* The AVX2 collect_entries on eight lanes: the taken lanes' offsets and M values packed with compresses (stored whole
 * while eight slots remain, masked after), shift += alpha M on those lanes only (a masked store, so the others keep
 * their bits). */
static int64_t collect_entries(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                               const int32_t *offsets, const double *m, double alpha, double *shift, int32_t *indices,
                               double *values) {
    const __m512d limit = _mm512_set1_pd(threshold), a = _mm512_set1_pd(alpha);
    const __m256i lanes8 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t ties_left = k - above, count = 0, t = 0;
    for (; t + 8 <= n && count < k; t += 8) {
        unsigned lanes = chosen_lanes8(keys + t, limit, &ties_left);
        __mmask8 chosen = (__mmask8)lanes;
        int taken = _mm_popcnt_u32(lanes);
        __m256i at = offsets != NULL ? _mm256_loadu_si256((const __m256i *)(const void *)(offsets + t))
                                     : _mm256_add_epi32(_mm256_set1_epi32((int32_t)t), lanes8);
        __m512d mv = _mm512_loadu_pd(m + t);
        _mm512_mask_storeu_pd(shift + t, chosen, _mm512_add_pd(_mm512_loadu_pd(shift + t), _mm512_mul_pd(a, mv)));
        __m256i packed_at = _mm256_maskz_compress_epi32(chosen, at);
        __m512d packed_m = _mm512_maskz_compress_pd(chosen, mv);
        if (count + 8 <= k) {
            _mm256_storeu_si256((__m256i *)(void *)(indices + count), packed_at);
            _mm512_storeu_pd(values + count, packed_m);
        } else {
            __mmask8 first = (__mmask8)((1u << taken) - 1);
            _mm256_mask_storeu_epi32(indices + count, first, packed_at);
            _mm512_mask_storeu_pd(values + count, first, packed_m);
        }
        count += taken;
    }
    return fednl_collect_entries_tail(t, n, keys, threshold, ties_left, k, count, offsets, m, alpha, shift, indices,
                                      values);
}

/* The loss step (loss_step.h) on 8 lanes. */
#define LS_V __m512d
#define LS_SET1(c) _mm512_set1_pd(c)
#define LS_ADD(a, b) _mm512_add_pd(a, b)
#define LS_SUB(a, b) _mm512_sub_pd(a, b)
#define LS_MUL(a, b) _mm512_mul_pd(a, b)
#define LS_DIV(a, b) _mm512_div_pd(a, b)
#define LS_FMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define LS_ABS(a) _mm512_andnot_pd(_mm512_set1_pd(-0.0), a)
#define LS_NEG(a) _mm512_xor_pd(a, _mm512_set1_pd(-0.0))
#define LS_MIN(c, a) _mm512_min_pd(c, a) /* c < a ? c : a */
#define LS_POSITIVE(z, a, b) _mm512_mask_blend_pd(_mm512_cmp_pd_mask(z, _mm512_setzero_pd(), _CMP_GT_OQ), b, a)
#define LS_NONPOSITIVE(z, a) _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(z, _mm512_setzero_pd(), _CMP_LE_OQ), a)
#define LS_EXPONENT(a) _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_castpd_si512(a), 52))
#include "../loss_step.h"

/* Rows 8i..8i+7 as lanes 0-7; a last partial group reads z = +inf in its missing lanes (factor exactly 1, linear
 * part +0) and stores only its rows. */
static void loss_block(int64_t count, const double *z, const double *labels, double inv_m, double linear[FEDNL_LOSS_LANES],
                       double lanes[FEDNL_LOSS_LANES], double *coef, double *weights) {
    __m512d product = _mm512_loadu_pd(lanes), sums = _mm512_loadu_pd(linear), scale = _mm512_set1_pd(inv_m);
    __m512d factor, term, c, w;
    int64_t j = 0;
    for (; j + 8 <= count; j += 8) {
        ls_row(_mm512_loadu_pd(z + j), _mm512_loadu_pd(labels + j), scale, &factor, &term, &c, &w);
        product = _mm512_mul_pd(product, factor);
        sums = _mm512_add_pd(sums, term);
        _mm512_storeu_pd(coef + j, c);
        _mm512_storeu_pd(weights + j, w);
    }
    if (j < count) {
        __mmask8 rows = (__mmask8)((1u << (count - j)) - 1);
        ls_row(_mm512_mask_loadu_pd(_mm512_set1_pd(INFINITY), rows, z + j), _mm512_maskz_loadu_pd(rows, labels + j), scale,
               &factor, &term, &c, &w);
        product = _mm512_mul_pd(product, factor);
        sums = _mm512_add_pd(sums, term);
        _mm512_mask_storeu_pd(coef + j, rows, c);
        _mm512_mask_storeu_pd(weights + j, rows, w);
    }
    _mm512_storeu_pd(linear, sums);
    _mm512_storeu_pd(lanes, product);
}

/* The AVX2 form with eight rows at a time, each in one register holding its two accumulators. */
static void dense_margins(int64_t rows, int64_t cols, const double *a, const double *x, const double *labels, double *z) {
    int64_t whole = cols - cols % 8, j = 0;
    for (; j + 8 <= rows; j += 8) {
        const double *r = a + j * cols;
        __m512d acc[8];
        for (int q = 0; q < 8; q++) acc[q] = _mm512_setzero_pd();
        for (int64_t i = 0; i < whole; i += 8) {
            __m512d xv = _mm512_loadu_pd(x + i);
            for (int q = 0; q < 8; q++) acc[q] = _mm512_fmadd_pd(_mm512_loadu_pd(r + q * cols + i), xv, acc[q]);
        }
        for (int q = 0; q < 8; q++)
            z[j + q] = fednl_margin_tail(r + q * cols, x, whole, cols, horizontal_sum(halves_sum(acc[q])), labels[j + q]);
    }
    for (; j < rows; j++) {
        const double *row = a + j * cols;
        __m512d acc = _mm512_setzero_pd();
        for (int64_t i = 0; i < whole; i += 8) acc = _mm512_fmadd_pd(_mm512_loadu_pd(row + i), _mm512_loadu_pd(x + i), acc);
        z[j] = fednl_margin_tail(row, x, whole, cols, horizontal_sum(halves_sum(acc)), labels[j]);
    }
}

/* The AVX2 form on eight-lane vectors; the last columns by a masked vector (each column is its own chain). */
static void dense_gradient(int64_t rows, int64_t cols, const double *a, const double *coef, double lambda, const double *x,
                           double *grad) {
    __m512d scale = _mm512_set1_pd(lambda);
    int64_t i = 0;
    for (; i + 64 <= cols; i += 64) {
        __m512d g[8];
        for (int v = 0; v < 8; v++) g[v] = _mm512_mul_pd(scale, _mm512_loadu_pd(x + i + 8 * v));
        for (int64_t j = 0; j < rows; j++) {
            const double *row = a + j * cols + i;
            __m512d c = _mm512_set1_pd(coef[j]);
            for (int v = 0; v < 8; v++) g[v] = _mm512_fmadd_pd(c, _mm512_loadu_pd(row + 8 * v), g[v]);
        }
        for (int v = 0; v < 8; v++) _mm512_storeu_pd(grad + i + 8 * v, g[v]);
    }
    /* up to 63 columns left: at most eight vectors, the last one masked, all in flight together */
    int64_t left = cols - i;
    if (left > 0) {
        int vectors = (int)((left + 7) / 8);
        __mmask8 last = (__mmask8)((1u << (left - 8 * (vectors - 1))) - 1u);
        __m512d g[8];
        for (int v = 0; v < vectors; v++) {
            __mmask8 mask = v == vectors - 1 ? last : (__mmask8)0xFF;
            g[v] = _mm512_mul_pd(scale, _mm512_maskz_loadu_pd(mask, x + i + 8 * v));
        }
        for (int64_t j = 0; j < rows; j++) {
            const double *row = a + j * cols + i;
            __m512d c = _mm512_set1_pd(coef[j]);
            for (int v = 0; v < vectors; v++) {
                __mmask8 mask = v == vectors - 1 ? last : (__mmask8)0xFF;
                g[v] = _mm512_fmadd_pd(c, _mm512_maskz_loadu_pd(mask, row + 8 * v), g[v]);
            }
        }
        for (int v = 0; v < vectors; v++) _mm512_mask_storeu_pd(grad + i + 8 * v, v == vectors - 1 ? last : (__mmask8)0xFF, g[v]);
    }
}

/* The AVX2 table with the kernels above in place of theirs, built once: an entry added to the table later is the
 * AVX2 one here without any change to this file. */
static fednl_vector_kernels table;
static atomic_int table_state; /* 0 not built, 1 being built, 2 built */

const fednl_vector_kernels *fednl_vector_kernels_avx512(void) {
    if (atomic_load_explicit(&table_state, memory_order_acquire) != 2) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&table_state, &expected, 1)) {
            fednl_vector_kernels built = fednl_vector_kernels_avx2;
            built.loss_block = loss_block;
            built.difference_squares = difference_squares;
            built.difference_keys = difference_keys;
            built.count_fields = count_fields;
            built.collect_field = collect_field;
            built.collect_positions = collect_positions;
            built.collect_entries = collect_entries;
            built.dense_step = fednl_dense_step_avx512;
            built.dense_margins = dense_margins;
            built.dense_gradient = dense_gradient;
            table = built;
            atomic_store_explicit(&table_state, 2, memory_order_release);
        } else {
            while (atomic_load_explicit(&table_state, memory_order_acquire) != 2) {
            }
        }
    }
    return &table;
}
