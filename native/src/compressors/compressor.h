/* compressor.h - the compressors' shared internal interface. The selecting compressors work on a list of n
 * entries (a whole packed matrix, or the entries of a client's Hessian pattern) and report positions in that
 * list; the callers map positions to packed offsets. */
#ifndef FEDNL_COMPRESSOR_H
#define FEDNL_COMPRESSOR_H

#include "../internal.h"
#include "../random.h"

#include <string.h>

/* keys[t] = squared Frobenius weight of entry t: m[t]^2 on the diagonal, 2 m[t]^2 off it. diagonal lists the dim
 * positions of the diagonal entries, or is null when the entries are the whole packed matrix (n = D). */
void fednl_entry_keys(int64_t dim, int64_t n, const int32_t *diagonal, const double *m, double *keys);

/* The K-th largest of keys[0..n) (1 <= k <= n); reorders keys. */
double fednl_kth_largest(double *keys, int64_t n, int64_t k);

/* Sorts a[0..n) ascending (insertion sort below 24 entries, else quicksort). */
void fednl_sort_indices(int32_t *a, int64_t n);

/* Words of scratch TopK and TopLEK need beside their keys: n doubles and 4 x 2048 int32 counts. */
#define FEDNL_TOPK_SCRATCH_WORDS(n) ((n) + 4096)

/* Positions (ascending) of the min(k, n) largest non-negative keys, ties to the lowest positions. scratch holds
 * FEDNL_TOPK_SCRATCH_WORDS(n) words; positions (and the heap) hold min(k, n) int32. */
int64_t fednl_topk_positions(int64_t n, int64_t k, const double *keys, double *scratch, int32_t *histogram,
                             int32_t *positions);

/* The largest exponent field (bits >> 52 & 0x7FF) of keys[0..n), 0 when n = 0: where TopK's radix passes start. */
int64_t fednl_top_field(int64_t n, const double *keys);

/* The exponent fields of a TopK set's largest and smallest keys, or -1 when not known. */
typedef struct fednl_topk_span {
    int64_t highest, lowest;
} fednl_topk_span;

/* fednl_topk_positions given top = fednl_top_field(n, keys) (a variant's fused first pass finds it); span (when not
 * null) receives the set's exponent span: top and the K-th largest key's field (unknown when k >= n). */
int64_t fednl_topk_positions_below(int64_t n, int64_t k, const double *keys, int64_t top, double *scratch,
                                   int32_t *histogram, int32_t *positions, fednl_topk_span *span);

/* TopK in the pattern step: fednl_topk_positions_below's choice applied as collect_entries (fednl_vector_kernels)
 * applies it, for the min(k, n) entries. */
int64_t fednl_topk_entries_below(int64_t n, int64_t k, const double *keys, int64_t top, double *scratch,
                                 int32_t *histogram, const int32_t *offsets, const double *m, double alpha,
                                 double *shift, int32_t *indices, double *values);

/* TopLEK's positions (ascending) among n entries of a matrix with `total` packed entries. */
int64_t fednl_toplek_positions(int64_t n, int64_t k, int64_t total, const double *keys, double *scratch,
                               int32_t *histogram, fednl_random *rng, int32_t *positions, int32_t *heap);

/* TopLEK given top = fednl_top_field(n, keys) and norm_squared, the keys summed as fednl_key_sum adds them: when the
 * first pass's counts show that the pops end in the top binades, from those binades' keys alone (no TopK set),
 * else from the TopK set; the same choice either way. heap: min(k, n) entries. */
int64_t fednl_toplek_below(int64_t n, int64_t k, int64_t total, const double *keys, double norm_squared, int64_t top,
                           double *scratch, int32_t *histogram, fednl_random *rng, int32_t *positions, int32_t *heap);

/* TopLEK from the TopK set: positions[0..top) and span as fednl_topk_positions_below gave them, and norm_squared,
 * the keys summed as fednl_key_sum adds them. */
int64_t fednl_toplek_from_topk(int64_t k, int64_t total, const double *keys, double norm_squared, fednl_random *rng,
                               int64_t top, const fednl_topk_span *span, int32_t *positions, int32_t *heap);
/* Entries a sparse compressor writes at most over `total` packed entries: PermK's ceil(D/n), else min(K, D). */
static inline int64_t fednl_sparse_budget(const fednl_compressor *c, int64_t total) {
    if (c->kind == FEDNL_COMPRESSOR_PERMK) return (total + c->clients - 1) / c->clients;
    return c->k < total ? c->k : total;
}

/* Marks k of total positions, uniformly without replacement (Floyd's algorithm), in bitmap ((total + 63) / 64 words,
 * cleared first). */
void fednl_random_subset(int64_t total, int64_t k, fednl_random *rng, uint64_t *bitmap);

int64_t fednl_randk_indices(int64_t total, int64_t k, fednl_random *rng, int32_t *indices, uint64_t *bitmap);
int64_t fednl_randseqk_indices(int64_t total, int64_t k, fednl_random *rng, int32_t *indices, int64_t *start);
/* FEDNL_OK when PermK's client count and client fit D = total entries; otherwise an error naming both numbers. */
int32_t fednl_check_permk(const fednl_compressor *c, int64_t total, const char *function);

/* Words of workspace PermK needs: a bitmap of the clients and the permutation's D int32. */
static inline int64_t fednl_permk_workspace(int64_t total, int64_t clients) {
    return (clients + 63) / 64 + (total + 1) / 2;
}

/* Client `client`'s block (ascending packed positions) of the permutation drawn from rng; returns its length,
 * floor(total / clients) or one more. work holds fednl_permk_workspace words. */
int64_t fednl_permk_indices(int64_t total, int64_t clients, int64_t client, fednl_random *rng, int32_t *indices,
                            uint64_t *work);

/* The vector difference_squares' last n - t entries, one by one in the same roundings. Returns sum. */
static inline double fednl_difference_squares_tail(int64_t t, int64_t n, const double *h, const double *shift, double *m,
                                                   double sum) {
    for (; t < n; t++) {
        m[t] = h[t] - shift[t];
        sum = fma(m[t], m[t], sum);
    }
    return sum;
}

/* The key factors of a block of eight entries from t with a diagonal entry in it (next < t + 8): 1 on the diagonal,
 * 2 elsewhere; advances the diagonal walk (row, next) past the block. */
static inline void fednl_diagonal_factors8(int64_t t, int64_t n, int64_t dim, const int32_t *diagonal, int64_t *row,
                                           int64_t *next, double f[8]) {
    for (int l = 0; l < 8; l++) f[l] = 2.0;
    while (*next < t + 8) {
        f[*next - t] = 1.0;
        (*row)++;
        *next = *row < dim ? (diagonal != NULL ? diagonal[*row] : fednl_packed_row_offset(dim, *row)) : n;
    }
}

/* TopLEK's |M|^2 as the sum of its keys: eight running sums, key t into sum t mod 8 in position order (a vector
 * register's lanes, so no variant waits on one add chain), added as two 4-lane vectors are. */
static inline double fednl_key_lanes_total(const double lanes[8]) {
    return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
}

static inline double fednl_key_sum(const double *keys, int64_t n) {
    double lanes[8] = {0};
    for (int64_t t = 0; t < n; t++) lanes[t & 7] += keys[t];
    return fednl_key_lanes_total(lanes);
}

/* The vector difference_keys' last n - t entries (t a multiple of 8), one by one in the same roundings: M, its square
 * into sum, the key (m^2 on the diagonal, 2 m^2 elsewhere), its exponent field into *top (the largest so far) and the
 * key into lanes (fednl_key_sum's; their total returned through key_sum when asked). row and next are the diagonal
 * walk's state at t. Returns sum. */
static inline double fednl_difference_keys_tail(int64_t t, int64_t n, const double *h, const double *shift, int64_t dim,
                                                const int32_t *diagonal, int64_t row, int64_t next, double *m,
                                                double *keys, int64_t *top, double sum, double lanes[8],
                                                double *key_sum) {
    for (; t < n; t++) {
        m[t] = h[t] - shift[t];
        sum = fma(m[t], m[t], sum);
        double factor = 2.0;
        if (t == next) {
            factor = 1.0;
            row++;
            next = row < dim ? (diagonal != NULL ? diagonal[row] : fednl_packed_row_offset(dim, row)) : n;
        }
        keys[t] = factor * m[t] * m[t];
        uint64_t bits;
        memcpy(&bits, &keys[t], sizeof bits);
        int64_t field = (int64_t)((bits >> 52) & 0x7FF);
        if (field > *top) *top = field;
        lanes[t & 7] += keys[t];
    }
    if (key_sum != NULL) *key_sum = fednl_key_lanes_total(lanes);
    return sum;
}

/* collect_field (fednl_vector_kernels) from t on, one value at a time, count of them already kept. Returns the count. */
static inline int64_t fednl_collect_field_tail(int64_t t, int64_t n, const double *in, int shift, uint64_t mask,
                                               int64_t bucket, double *out, int64_t count) {
    for (; t < n; t++) {
        double v = in[t];
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        out[count] = v;
        count += (int64_t)((bits >> shift) & mask) == bucket;
    }
    return count;
}

/* collect_positions (fednl_vector_kernels) from t on, one key at a time: ties_left ties may still be taken and
 * count positions are written. Returns the count. */
static inline int64_t fednl_collect_positions_tail(int64_t t, int64_t n, const double *keys, double threshold,
                                                   int64_t ties_left, int64_t k, int64_t count, int32_t *positions) {
    for (; t < n && count < k; t++) {
        int64_t tie = (int64_t)(keys[t] == threshold) & (int64_t)(ties_left > 0);
        if ((keys[t] > threshold) | tie) positions[count++] = (int32_t)t;
        ties_left -= tie;
    }
    return count;
}

/* count_fields (fednl_vector_kernels) from t on, one key at a time. */
static inline void fednl_count_fields_tail(int64_t t, int64_t n, const double *keys, int shift, int64_t top,
                                           int64_t counts[32]) {
    for (; t < n; t++) {
        uint64_t bits;
        memcpy(&bits, keys + t, sizeof bits);
        int64_t below = top - (int64_t)(bits >> shift);
        if (below >= 0) counts[below < 31 ? below : 31]++;
    }
}

/* collect_entries (fednl_vector_kernels) from t on, one entry at a time: ties_left ties may still be taken and count
 * entries are written. Returns the count. */
static inline int64_t fednl_collect_entries_tail(int64_t t, int64_t n, const double *keys, double threshold,
                                                 int64_t ties_left, int64_t k, int64_t count, const int32_t *offsets,
                                                 const double *m, double alpha, double *shift, int32_t *indices,
                                                 double *values) {
    for (; t < n && count < k; t++) {
        int64_t tie = (int64_t)(keys[t] == threshold) & (int64_t)(ties_left > 0);
        ties_left -= tie;
        if (!((keys[t] > threshold) | tie)) continue;
        indices[count] = offsets != NULL ? offsets[t] : (int32_t)t;
        values[count++] = m[t];
        shift[t] += alpha * m[t];
    }
    return count;
}

/* One entry of natural compression with the 64 random bits draw. A finite non-zero v lies in [low, 2 low) with low a
 * power of two of v's sign: low = v with its mantissa cleared when v is normal, the top set bit of the mantissa when
 * it is subnormal. The chance to round up, |v| / low - 1, is then a fraction f / 2^52 with f an integer below 2^52
 * (the mantissa bits below low's), so the exact test is (draw >> 12) < f: no division, no frexp. Zeros and non-finite
 * values are returned as they are. */
static inline double fednl_natural_entry(double v, uint64_t draw) {
    uint64_t bits, low_bits, fraction;
    memcpy(&bits, &v, sizeof bits);
    uint64_t exponent = (bits >> 52) & 0x7FF, mantissa = bits & 0x000FFFFFFFFFFFFFull;
    if (exponent == 0x7FF || (bits << 1) == 0) return v;
    if (exponent != 0) {
        low_bits = bits & 0xFFF0000000000000ull; /* sign and exponent */
        fraction = mantissa;
    } else {
        int top = fednl_highest_bit(mantissa);
        low_bits = (bits & 0x8000000000000000ull) | (1ull << top);
        fraction = (mantissa - (1ull << top)) << (52 - top);
    }
    double low;
    memcpy(&low, &low_bits, sizeof low);
    return (draw >> 12) < fraction ? 2.0 * low : low;
}

/* values[t] = fednl_natural_entry(m[t], draw e of key) for t < count, e = offsets[t] (the packed offset of entry t),
 * or t when offsets is null (the whole packed matrix). */
void fednl_natural(int64_t count, const double *m, uint64_t key, const int32_t *offsets, double *values);

#endif
