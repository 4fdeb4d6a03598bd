/* permk.c - PermK: every client draws the same random permutation of the D packed positions from the round's shared
 * seed and keeps its own block of it, so the n blocks are disjoint and cover all D entries. With D = n q + r, the
 * permutation's first r positions are leftover slots, given one each to r clients chosen at random (slot j to the
 * j-th chosen in ascending order), and block b is positions [r + b q, r + (b + 1) q). A position is uniform over
 * [0, D) and independent of the chosen clients, so each entry lands in each client's block with probability 1/n.
 * Forward Fisher-Yates fixes position t at step t, so a client stops after its own block: r + (client + 1) q steps. */
#include "compressor.h"

int32_t fednl_check_permk(const fednl_compressor *c, int64_t total, const char *function) {
    if (c->clients < 1 || c->clients > total)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT,
                          "%s: permk splits the D = %lld packed entries among n = %lld clients and needs 1 <= n <= D",
                          function, (long long)total, (long long)c->clients);
    if (c->client < 0 || c->client >= c->clients)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: permk client %d is not in [0, %lld)", function, (int)c->client,
                          (long long)c->clients);
    return FEDNL_OK;
}

int64_t fednl_permk_indices(int64_t total, int64_t clients, int64_t client, fednl_random *rng, int32_t *indices,
                            uint64_t *work) {
    int64_t q = total / clients, r = total % clients;
    uint64_t *chosen = work;
    int32_t *permutation = (int32_t *)(work + (clients + 63) / 64);
    fednl_random_subset(clients, r, rng, chosen); /* drawn first: every client makes the same draws */
    int64_t count = 0;
    if ((chosen[client >> 6] >> (client & 63)) & 1) {
        int64_t slot = 0;
        for (int64_t j = 0; j < client; j++) slot += (int64_t)((chosen[j >> 6] >> (j & 63)) & 1);
        indices[count++] = (int32_t)slot; /* a position for now; mapped through the permutation below */
    }
    int64_t begin = r + client * q, end = begin + q;
    for (int64_t t = 0; t < total; t++) permutation[t] = (int32_t)t;
    fednl_random state = *rng; /* in registers for the loop, whatever the compiler assumes of the swaps' stores */
    for (int64_t t = 0; t < end; t++) {
        int64_t j = t + (int64_t)fednl_random_below(&state, (uint64_t)(total - t));
        int32_t kept = permutation[j];
        permutation[j] = permutation[t];
        permutation[t] = kept;
    }
    *rng = state;
    if (count == 1) indices[0] = permutation[indices[0]];
    for (int64_t t = begin; t < end; t++) indices[count++] = permutation[t];
    fednl_sort_indices(indices, count);
    return count;
}
