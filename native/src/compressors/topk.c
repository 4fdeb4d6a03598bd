/* topk.c - TopK: the K entries of largest weighted magnitude. Ties at the threshold go to the lowest positions,
 * so the result is deterministic. Contractive: |TopK(M) - M|^2 <= (1 - K/D) |M|^2. */
#include "compressor.h"

#include <string.h>

int64_t fednl_topk_positions(int64_t n, int64_t k, const double *keys, double *scratch, int32_t *positions) {
    if (k >= n) {
        for (int64_t t = 0; t < n; t++) positions[t] = (int32_t)t;
        return n;
    }
    memcpy(scratch, keys, (size_t)n * sizeof *scratch);
    double threshold = fednl_kth_largest(scratch, n, k);
    int64_t above = 0;
    for (int64_t t = 0; t < n; t++) above += keys[t] > threshold;
    int64_t ties_left = k - above, count = 0;
    for (int64_t t = 0; t < n; t++)
        if (keys[t] > threshold || (keys[t] == threshold && ties_left-- > 0)) positions[count++] = (int32_t)t;
    return count;
}
