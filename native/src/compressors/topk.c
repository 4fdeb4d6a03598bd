/* topk.c - TopK: the K entries of largest weighted magnitude. Ties at the threshold go to the lowest positions,
 * so the result is deterministic. Contractive: |TopK(M) - M|^2 <= (1 - K/D) |M|^2. */
#include "compressor.h"

#include <string.h>

static uint64_t bits_of(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

/* The highest bucket b of counts[0..buckets) (lanes interleaved histograms of `stride` apart, summed) whose count
 * reaches *k, taking the counts of the buckets above it off *k. Blocks of eight buckets are summed first: keys
 * crowd into a few buckets, so most blocks are empty and one comparison skips them. */
static int64_t bucket_of_kth(const int32_t *counts, int lanes, int64_t stride, int64_t buckets, int64_t *k) {
    int64_t bucket = buckets - 1;
    for (; bucket >= 7; bucket -= 8) {
        int64_t block = 0;
        for (int l = 0; l < lanes; l++)
            for (int64_t b = bucket - 7; b <= bucket; b++) block += counts[l * stride + b];
        if (block >= *k) break;
        *k -= block;
    }
    for (;; bucket--) {
        int64_t in_bucket = 0;
        for (int l = 0; l < lanes; l++) in_bucket += counts[l * stride + bucket];
        if (in_bucket >= *k) return bucket;
        *k -= in_bucket;
    }
}

/* Whether the n >= 1 keys all have the same bits: then no pass can split them, and any of them is the answer. */
static int all_same_bits(const double *keys, int64_t n) {
    uint64_t first = bits_of(keys[0]);
    for (int64_t t = 0; t < n; t += 64) {
        uint64_t differ = 0;
        int64_t end = t + 64 < n ? t + 64 : n;
        for (int64_t u = t; u < end; u++) differ |= bits_of(keys[u]) ^ first;
        if (differ != 0) return 0;
    }
    return 1;
}

/* The K-th largest of n non-negative keys, by radix selection over the full exponent field: non-negative doubles
 * order like their bit patterns, so histograms of successive 11-bit fields (exponent first, then the mantissa)
 * narrow the candidates to one bucket per pass; a quickselect finishes once a few dozen remain. kth_largest's
 * fallback for keys with infinities or NaN, which do not order like their bits: the first pass spreads its
 * increments over four interleaved histograms (histogram, 4 x 2048 counts) so that consecutive increments of one
 * bucket do not wait on each other. Once the candidates all have the same bits (a converged client's zeros, or a few
 * distinct tiny values), the passes stop there, since every further pass would keep them all and the quickselect
 * would return any of them. */
static double kth_largest_histogram(const double *keys, int64_t n, int64_t k, double *scratch, int32_t *histogram,
                                    const fednl_vector_kernels *kernels, int64_t *above) {
    int64_t k0 = k;
    memset(histogram, 0, 4 * 2048 * sizeof *histogram);
    for (int64_t t = 0; t < n; t++) histogram[(t & 3) * 2048 + (int64_t)((bits_of(keys[t]) >> 52) & 0x7FF)]++;
    /* infinities and NaN (exponent field 2047) do not order like their bits: count what lies above by comparing */
    int special = histogram[2047] + histogram[4095] + histogram[6143] + histogram[8191] > 0;
    int64_t bucket = bucket_of_kth(histogram, 4, 2048, 2048, &k);
    int64_t count = kernels->collect_field(n, keys, 52, 0x7FF, bucket, scratch);
    int same = all_same_bits(scratch, count);
    /* the mantissa's 52 bits, 11 at a time from the top */
    for (int shift = 41; count > 32 && !same && shift > -11; shift -= 11) {
        int s = shift > 0 ? shift : 0, width = shift > 0 ? 11 : 11 + shift;
        uint64_t mask = (1ull << width) - 1;
        memset(histogram, 0, (mask + 1) * sizeof *histogram);
        for (int64_t t = 0; t < count; t++) histogram[(bits_of(scratch[t]) >> s) & mask]++;
        bucket = bucket_of_kth(histogram, 1, 0, (int64_t)mask + 1, &k);
        if (histogram[bucket] == count) continue; /* every candidate is in it: nothing to drop */
        count = kernels->collect_field(count, scratch, s, mask, bucket, scratch);
        same = all_same_bits(scratch, count);
    }
    double threshold = same ? scratch[0] : fednl_kth_largest(scratch, count, k);
    /* every key of a higher bucket (k0 - k of them) is larger than every key of the last one, which holds the rest */
    int64_t larger = 0;
    if (special) {
        for (int64_t t = 0; t < n; t++) larger += keys[t] > threshold;
    } else if (!same) {
        for (int64_t t = 0; t < count; t++) larger += scratch[t] > threshold;
        larger += k0 - k;
    } else {
        larger = k0 - k;
    }
    *above = larger;
    return threshold;
}

/* The bin of counts[0..32) (bin 0 the largest keys) that holds the k-th largest, taking the bins before it off *k. */
static int bin_of_kth(const int64_t counts[32], int64_t *k) {
    int bin = 0;
    while (bin < 31 && counts[bin] < *k) *k -= counts[bin++];
    return bin;
}

/* The K-th largest of n finite non-negative keys whose largest exponent field is top, and how many keys exceed it
 * (*above). Radix selection from the top: pass one counts the keys by how many binades they lie below top (bin 31
 * for 31 or more; when the K-th is there, the pass is repeated 31 binades lower, where the keys above no longer
 * count), each later pass by the next five bits of the candidates' common prefix, and each keeps only the bin that
 * holds the K-th. Counting is in registers (count_fields), so no pass scatters increments to memory; a quickselect
 * finishes once a few dozen candidates remain, or the candidates all have the same bits. Infinities and NaN
 * (top 2047) take kth_largest_histogram. */
static double kth_largest(const double *keys, int64_t n, int64_t k, int64_t top, double *scratch, int32_t *histogram,
                          const fednl_vector_kernels *kernels, int64_t *above) {
    if (top >= 2047) return kth_largest_histogram(keys, n, k, scratch, histogram, kernels, above);
    int64_t k0 = k, counts[32] = {0};
    kernels->count_fields(n, keys, 52, top, counts);
    int bin = bin_of_kth(counts, &k);
    while (bin == 31) { /* then top > 30: bins 0-30 would hold every key otherwise */
        top -= 31;
        memset(counts, 0, sizeof counts);
        kernels->count_fields(n, keys, 52, top, counts);
        bin = bin_of_kth(counts, &k);
    }
    int64_t prefix = top - bin; /* the candidates' bits >> shift */
    int shift = 52;
    int64_t count = kernels->collect_field(n, keys, 52, 0x7FF, prefix, scratch);
    int same = all_same_bits(scratch, count);
    while (count > 32 && !same && shift > 0) {
        int next = shift > 5 ? shift - 5 : 0, width = shift - next;
        int64_t last = (prefix << width) | ((1 << width) - 1); /* the largest candidate's bits >> next, at most */
        memset(counts, 0, sizeof counts);
        kernels->count_fields(count, scratch, next, last, counts);
        bin = bin_of_kth(counts, &k);
        prefix = last - bin;
        shift = next;
        if (counts[bin] == count) continue; /* every candidate is in it: nothing to drop */
        count = kernels->collect_field(count, scratch, shift, ~0ull >> shift, prefix, scratch);
        same = all_same_bits(scratch, count);
    }
    double threshold = same ? scratch[0] : fednl_kth_largest(scratch, count, k);
    /* every key of a bin before the last (k0 - k of them) is larger than every key of the last one, which holds the
     * rest */
    int64_t larger = k0 - k;
    if (!same)
        for (int64_t t = 0; t < count; t++) larger += scratch[t] > threshold;
    *above = larger;
    return threshold;
}

int64_t fednl_top_field(int64_t n, const double *keys) {
    int64_t top = 0;
    for (int64_t t = 0; t < n; t++) {
        int64_t field = (int64_t)((bits_of(keys[t]) >> 52) & 0x7FF);
        top = field > top ? field : top;
    }
    return top;
}

int64_t fednl_topk_positions_below(int64_t n, int64_t k, const double *keys, int64_t top, double *scratch,
                                   int32_t *histogram, int32_t *positions, fednl_topk_span *span) {
    if (k >= n) {
        for (int64_t t = 0; t < n; t++) positions[t] = (int32_t)t;
        if (span != NULL) span->highest = span->lowest = -1;
        return n;
    }
    const fednl_vector_kernels *kernels = fednl_active_kernels();
    int64_t above = 0;
    double threshold = kth_largest(keys, n, k, top, scratch, histogram, kernels, &above);
    if (span != NULL) { /* the set holds the largest key and, at its smallest, the K-th */
        span->highest = top;
        span->lowest = (int64_t)((bits_of(threshold) >> 52) & 0x7FF);
    }
    return kernels->collect_positions(n, keys, threshold, above, k, positions);
}

int64_t fednl_topk_entries_below(int64_t n, int64_t k, const double *keys, int64_t top, double *scratch,
                                 int32_t *histogram, const int32_t *offsets, const double *m, double alpha,
                                 double *shift, int32_t *indices, double *values) {
    const fednl_vector_kernels *kernels = fednl_active_kernels();
    if (k >= n) { /* every entry, NaN keys too (as fednl_topk_positions_below) */
        for (int64_t t = 0; t < n; t++) {
            indices[t] = offsets != NULL ? offsets[t] : (int32_t)t;
            values[t] = m[t];
            shift[t] += alpha * m[t];
        }
        return n;
    }
    int64_t above = 0;
    double threshold = kth_largest(keys, n, k, top, scratch, histogram, kernels, &above);
    return kernels->collect_entries(n, keys, threshold, above, k, offsets, m, alpha, shift, indices, values);
}

int64_t fednl_topk_positions(int64_t n, int64_t k, const double *keys, double *scratch, int32_t *histogram,
                             int32_t *positions) {
    return fednl_topk_positions_below(n, k, keys, k < n ? fednl_top_field(n, keys) : 0, scratch, histogram, positions,
                                      NULL);
}
