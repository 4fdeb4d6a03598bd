/* randk.c - RandK index selection: K of `total` positions uniformly without replacement (Floyd's algorithm),
 * marked in a bitmap so they come out ascending without a sort; O(K + total/64). */
#include "compressor.h"

#include <string.h>

void fednl_random_subset(int64_t total, int64_t k, fednl_random *rng, uint64_t *bitmap) {
    memset(bitmap, 0, (size_t)((total + 63) / 64) * sizeof *bitmap);
    /* The generator's state lives in registers for the loop (the bitmap's stores could alias it). The choice of the
     * position to set stays a branch: as arithmetic, each store's address would wait on the load before it, and the
     * draws ran 40 % slower. */
    fednl_random state = *rng;
    for (int64_t j = total - k; j < total; j++) {
        int64_t t = (int64_t)fednl_random_below(&state, (uint64_t)j + 1);
        int64_t taken = (int64_t)((bitmap[t >> 6] >> (t & 63)) & 1);
        int64_t set = taken ? j : t;
        bitmap[set >> 6] |= 1ull << (set & 63);
    }
    *rng = state;
}

int64_t fednl_randk_indices(int64_t total, int64_t k, fednl_random *rng, int32_t *indices, uint64_t *bitmap) {
    int64_t words = (total + 63) / 64;
    fednl_random_subset(total, k, rng, bitmap);
    int64_t count = 0;
    for (int64_t w = 0; w < words; w++) {
        uint64_t bits = bitmap[w];
        while (bits != 0) {
            indices[count++] = (int32_t)(w * 64 + fednl_lowest_bit(bits));
            bits &= bits - 1;
        }
    }
    return count;
}
