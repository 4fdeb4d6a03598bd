/* randk.c - RandK index selection: K of `total` positions uniformly without replacement (Floyd's algorithm),
 * marked in a bitmap so they come out ascending without a sort; O(K + total/64). */
#include "compressor.h"

#include <string.h>

void fednl_random_subset(int64_t total, int64_t k, fednl_random *rng, uint64_t *bitmap) {
    memset(bitmap, 0, (size_t)((total + 63) / 64) * sizeof *bitmap);
    /* The generator's state lives in registers for the loop (the bitmap's stores could alias it). Floyd's step sets
     * t when it is free and j otherwise: setting t's bit either way leaves the set as it is, so t's word takes its bit
     * unconditionally, and j's bit goes to a register word (j ascends) stored once j leaves its word. No store
     * address then depends on a loaded bit, and no branch on one: a t in j's word is looked up in the register too. */
    fednl_random state = *rng;
    int64_t j = total - k;
    uint64_t j_bits = 0; /* the bits set in j's word since it was last stored */
    for (; j < total; j++) {
        if ((j & 63) == 0 && j_bits != 0) {
            bitmap[(j >> 6) - 1] |= j_bits;
            j_bits = 0;
        }
        int64_t t = (int64_t)fednl_random_below(&state, (uint64_t)j + 1);
        uint64_t same_word = 0 - (uint64_t)((t >> 6) == (j >> 6));
        uint64_t taken = ((bitmap[t >> 6] | (j_bits & same_word)) >> (t & 63)) & 1;
        bitmap[t >> 6] |= 1ull << (t & 63);
        j_bits |= taken << (j & 63);
    }
    if (j_bits != 0) bitmap[(j - 1) >> 6] |= j_bits;
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
