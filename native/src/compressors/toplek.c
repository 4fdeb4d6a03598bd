/* toplek.c - TopLEK: at most K entries. Start from the TopK set and drop its smallest entries while the
 * residual |C(M) - M|^2 stays within (1 - K/D)|M|^2; the entry at the boundary is kept with the probability
 * that makes the expected residual equal (1 - K/D)|M|^2 exactly. Sends fewer entries than TopK when the
 * mass is concentrated. */
#include "compressor.h"

#include <string.h>

/* True when heap entry a should sit above b: larger weight, or equal weight and lower position. */
static int heap_above(const double *weight, int32_t a, int32_t b) {
    return weight[a] > weight[b] || (weight[a] == weight[b] && a < b);
}

static void sift_down(int32_t *heap, int64_t size, int64_t at, const double *weight) {
    for (;;) {
        int64_t child = 2 * at + 1;
        if (child >= size) return;
        if (child + 1 < size && heap_above(weight, heap[child + 1], heap[child])) child++;
        if (!heap_above(weight, heap[child], heap[at])) return;
        int32_t t = heap[at];
        heap[at] = heap[child];
        heap[child] = t;
        at = child;
    }
}

int64_t fednl_toplek(int64_t dim, int64_t k, const double *m, fednl_random *rng, int32_t *indices, double *values,
                     double *keys) {
    int64_t total = dim * (dim + 1) / 2;
    int64_t top = fednl_topk(dim, k, m, indices, values, keys);

    /* keys[0..top): the weights of the TopK set, after the total squared norm */
    double norm_squared = 0.0;
    for (int64_t i = 0, e = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++, e++) norm_squared += (j == i ? 1.0 : 2.0) * m[e] * m[e];
    double *weight = keys;
    int32_t *order = (int32_t *)(keys + top); /* the workspace holds D + K words: 2K int32 slots here */
    /* diagonal entries sit at the row offsets; indices ascend, so the row only moves forward */
    for (int64_t t = 0, row = 0; t < top; t++) {
        int64_t e = indices[t];
        while (row + 1 < dim && fednl_packed_row_offset(dim, row + 1) <= e) row++;
        weight[t] = (e == fednl_packed_row_offset(dim, row) ? 1.0 : 2.0) * m[e] * m[e];
    }
    /* Pop the TopK set from a max-heap of weights (ties: lower position first, so the result is deterministic)
     * until the residual is within the bound: O(K + kept log K), and usually only a few entries are kept. */
    int32_t *heap = order, *popped = order + top;
    for (int64_t t = 0; t < top; t++) heap[t] = (int32_t)t;
    for (int64_t t = top / 2 - 1; t >= 0; t--) sift_down(heap, top, t, weight);

    double bound = (1.0 - (double)top / (double)total) * norm_squared;
    /* keep the largest `keep` entries: the smallest count whose residual is within the bound */
    double kept = 0.0;
    int64_t keep = 0, size = top;
    while (keep < top && norm_squared - kept > bound) {
        int32_t t = heap[0];
        heap[0] = heap[--size];
        sift_down(heap, size, 0, weight);
        popped[keep++] = t;
        kept += weight[t];
    }

    int64_t chosen = keep;
    if (keep > 0) {
        /* residual without the boundary entry exceeds the bound, with it does not: keep it with probability p
         * so that p * with + (1 - p) * without = bound */
        double boundary = weight[popped[keep - 1]];
        double without = norm_squared - (kept - boundary);
        double p = boundary > 0.0 ? (without - bound) / boundary : 1.0;
        if (fednl_random_uniform(rng) >= p) chosen = keep - 1;
    }

    /* gather the chosen set back into ascending index order */
    for (int64_t t = 0; t < chosen; t++) order[t] = indices[popped[t]];
    fednl_sort_indices(order, chosen);
    for (int64_t t = 0; t < chosen; t++) {
        indices[t] = order[t];
        values[t] = m[order[t]];
    }
    return chosen;
}
