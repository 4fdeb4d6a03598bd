/* topk.c - TopK: the K entries of largest weighted magnitude. Ties at the threshold go to the lowest positions,
 * so the result is deterministic. Contractive: |TopK(M) - M|^2 <= (1 - K/D) |M|^2. */
#include "compressor.h"

#include <string.h>

static uint64_t bits_of(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

/* The K-th largest of n non-negative keys, by radix selection: non-negative doubles order like their bit patterns,
 * so histograms of successive 11-bit fields (exponent first, then the mantissa) narrow the candidates to one
 * bucket per pass without a data-dependent branch; a quickselect finishes once a few dozen remain. Keys crowd into
 * a few binades, so the first pass, over all n keys, spreads its increments over four interleaved histograms so
 * that consecutive increments of one bucket do not wait on each other. histogram holds 4 x 2048 counts, already
 * filled with the keys' exponent fields (fednl_exponent_histogram, or a variant's fused first pass); the
 * collection passes are the active variant's. */
static double kth_largest_counted(const double *keys, int64_t n, int64_t k, double *scratch, int32_t *histogram,
                                  const fednl_vector_kernels *kernels, int64_t *above) {
    int64_t bucket = 2047, in_bucket, k0 = k;
    /* infinities and NaN (exponent field 2047) do not order like their bits: count what lies above by comparing */
    int special = histogram[2047] + histogram[4095] + histogram[6143] + histogram[8191] > 0;
    for (;; bucket--) {
        in_bucket = histogram[bucket] + histogram[2048 + bucket] + histogram[4096 + bucket] + histogram[6144 + bucket];
        if (in_bucket >= k) break;
        k -= in_bucket;
    }
    int64_t count = kernels->collect_field(n, keys, 52, 0x7FF, bucket, scratch);
    /* the mantissa's 52 bits, 11 at a time from the top */
    for (int shift = 41; count > 32 && shift > -11; shift -= 11) {
        int s = shift > 0 ? shift : 0, width = shift > 0 ? 11 : 11 + shift;
        uint64_t mask = (1ull << width) - 1;
        memset(histogram, 0, 2048 * sizeof *histogram);
        for (int64_t t = 0; t < count; t++) histogram[(bits_of(scratch[t]) >> s) & mask]++;
        for (bucket = (int64_t)mask;; bucket--) {
            if (histogram[bucket] >= k) break;
            k -= histogram[bucket];
        }
        count = kernels->collect_field(count, scratch, s, mask, bucket, scratch);
    }
    double threshold = fednl_kth_largest(scratch, count, k);
    /* every key of a higher bucket (k0 - k of them) is larger than every key of the last one, which holds the rest */
    int64_t larger = 0;
    if (special) {
        for (int64_t t = 0; t < n; t++) larger += keys[t] > threshold;
    } else {
        for (int64_t t = 0; t < count; t++) larger += scratch[t] > threshold;
        larger += k0 - k;
    }
    *above = larger;
    return threshold;
}

void fednl_exponent_histogram(int64_t n, const double *keys, int32_t *histogram) {
    memset(histogram, 0, 4 * 2048 * sizeof *histogram);
    for (int64_t t = 0; t < n; t++) histogram[(t & 3) * 2048 + (int64_t)((bits_of(keys[t]) >> 52) & 0x7FF)]++;
}

int64_t fednl_topk_positions_counted(int64_t n, int64_t k, const double *keys, double *scratch, int32_t *histogram,
                                     int32_t *positions) {
    if (k >= n) {
        for (int64_t t = 0; t < n; t++) positions[t] = (int32_t)t;
        return n;
    }
    const fednl_vector_kernels *kernels = fednl_active_kernels();
    int64_t above = 0;
    double threshold = kth_largest_counted(keys, n, k, scratch, histogram, kernels, &above);
    return kernels->collect_positions(n, keys, threshold, above, k, positions);
}

int64_t fednl_topk_positions(int64_t n, int64_t k, const double *keys, double *scratch, int32_t *histogram,
                             int32_t *positions) {
    if (k < n) fednl_exponent_histogram(n, keys, histogram);
    return fednl_topk_positions_counted(n, k, keys, scratch, histogram, positions);
}
