/* topk.c - TopK: the K entries of largest weighted magnitude. Ties at the threshold go to the lowest positions,
 * so the result is deterministic. Contractive: |TopK(M) - M|^2 <= (1 - K/D) |M|^2. */
#include "compressor.h"

#include <string.h>

/* The K-th largest of n non-negative keys. Non-negative doubles order like their bit patterns, so a histogram of
 * the exponent (the top 11 bits below the sign) finds the binade that holds the K-th largest in one branch-free
 * pass; a quickselect then runs on that binade's keys only, usually a few hundred. Keys crowd into a few binades,
 * so four interleaved histograms keep consecutive increments of one bucket from waiting on each other.
 * histogram holds 4 x 2048 counts. */
static double kth_largest_by_binade(const double *keys, int64_t n, int64_t k, double *scratch, int32_t *histogram) {
    memset(histogram, 0, 4 * 2048 * sizeof *histogram);
    for (int64_t t = 0; t < n; t++) {
        uint64_t bits;
        memcpy(&bits, &keys[t], sizeof bits);
        histogram[(t & 3) * 2048 + (int64_t)(bits >> 52)]++;
    }
    int64_t above = 0, bucket = 2047, in_bucket;
    for (;; bucket--) {
        in_bucket = histogram[bucket] + histogram[2048 + bucket] + histogram[4096 + bucket] + histogram[6144 + bucket];
        if (above + in_bucket >= k) break;
        above += in_bucket;
    }
    int64_t count = 0;
    for (int64_t t = 0; t < n; t++) {
        uint64_t bits;
        memcpy(&bits, &keys[t], sizeof bits);
        scratch[count] = keys[t];
        count += (int64_t)(bits >> 52) == bucket;
    }
    return fednl_kth_largest(scratch, count, k - above);
}

int64_t fednl_topk_positions(int64_t n, int64_t k, const double *keys, double *scratch, int32_t *histogram,
                             int32_t *positions) {
    if (k >= n) {
        for (int64_t t = 0; t < n; t++) positions[t] = (int32_t)t;
        return n;
    }
    double threshold = kth_largest_by_binade(keys, n, k, scratch, histogram);
    int64_t above = 0;
    for (int64_t t = 0; t < n; t++) above += keys[t] > threshold;
    /* keep what lies above the threshold and the first k - above keys equal to it, without branches */
    int64_t ties_left = k - above, count = 0;
    for (int64_t t = 0; t < n; t++) {
        int64_t tie = keys[t] == threshold && ties_left > 0;
        positions[count] = (int32_t)t;
        count += (keys[t] > threshold) | tie;
        ties_left -= tie;
    }
    return count;
}
