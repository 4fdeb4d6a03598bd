/* toplek.c - TopLEK: at most K entries. Start from the TopK set and drop its smallest entries while the
 * residual |C(M) - M|^2 stays within (1 - K/D)|M|^2; the entry at the boundary is kept with the probability
 * that makes the expected residual equal (1 - K/D)|M|^2 exactly. Sends fewer entries than TopK when the
 * mass is concentrated. */
#include "compressor.h"

/* True when heap entry a should sit above b: larger key, or equal key and lower position. */
static int heap_above(const double *key, int32_t a, int32_t b) {
    return key[a] > key[b] || (key[a] == key[b] && a < b);
}

static void sift_down(int32_t *heap, int64_t size, int64_t at, const double *key) {
    for (;;) {
        int64_t child = 2 * at + 1;
        if (child >= size) return;
        if (child + 1 < size && heap_above(key, heap[child + 1], heap[child])) child++;
        if (!heap_above(key, heap[child], heap[at])) return;
        int32_t t = heap[at];
        heap[at] = heap[child];
        heap[child] = t;
        at = child;
    }
}

int64_t fednl_toplek_positions(int64_t n, int64_t k, int64_t total, const double *keys, double *scratch,
                               int32_t *histogram, fednl_random *rng, int32_t *positions, int32_t *heap) {
    int64_t top = fednl_topk_positions(n, k, keys, scratch, histogram, positions);
    double norm_squared = 0.0;
    for (int64_t t = 0; t < n; t++) norm_squared += keys[t];
    return fednl_toplek_from_topk(k, total, keys, norm_squared, rng, top, positions, heap);
}

int64_t fednl_toplek_from_topk(int64_t k, int64_t total, const double *keys, double norm_squared, fednl_random *rng,
                               int64_t top, int32_t *positions, int32_t *heap) {

    /* Pop the TopK set from a max-heap of keys (ties: lower position first, so the result is deterministic)
     * until the residual is within the bound: O(K + kept log K), and usually only a few entries are kept. */
    for (int64_t t = 0; t < top; t++) heap[t] = positions[t];
    for (int64_t t = top / 2 - 1; t >= 0; t--) sift_down(heap, top, t, keys);

    /* the bound uses the budget K (not the count TopK found), so a short entry list never loosens it */
    double bound = (1.0 - (double)(k < total ? k : total) / (double)total) * norm_squared;
    double kept = 0.0;
    int64_t keep = 0, size = top;
    while (keep < top && norm_squared - kept > bound) {
        int32_t t = heap[0];
        heap[0] = heap[--size];
        sift_down(heap, size, 0, keys);
        positions[keep++] = t; /* popped entries reuse the front of positions: keep <= popped so far */
        kept += keys[t];
    }

    int64_t chosen = keep;
    if (keep > 0) {
        /* residual without the boundary entry exceeds the bound, with it does not: keep it with probability p
         * so that p * with + (1 - p) * without = bound */
        double boundary = keys[positions[keep - 1]];
        double without = norm_squared - (kept - boundary);
        double p = boundary > 0.0 ? (without - bound) / boundary : 1.0;
        if (fednl_random_uniform(rng) >= p) chosen = keep - 1;
    }
    fednl_sort_indices(positions, chosen);
    return chosen;
}
