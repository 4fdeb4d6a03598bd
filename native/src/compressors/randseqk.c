/* randseqk.c - RandSeqK: K consecutive packed positions from a uniform start, wrapping at the end. One random
 * draw per call, and the entries it keeps are contiguous in memory. */
#include "compressor.h"

int64_t fednl_randseqk_indices(int64_t total, int64_t k, fednl_random *rng, int32_t *indices, int64_t *start) {
    int64_t first = (int64_t)fednl_random_below(rng, (uint64_t)total);
    *start = first;
    /* ascending order: the wrapped part [0, first + k - total) comes before [first, ...) */
    int64_t wrapped = first + k > total ? first + k - total : 0, count = 0;
    for (int64_t e = 0; e < wrapped; e++) indices[count++] = (int32_t)e;
    for (int64_t e = first; e < first + k - wrapped; e++) indices[count++] = (int32_t)e;
    return count;
}
