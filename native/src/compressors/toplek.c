/* toplek.c - TopLEK: at most K entries. Start from the TopK set and drop its smallest entries while the
 * residual |C(M) - M|^2 stays within (1 - K/D)|M|^2; the entry at the boundary is kept with the probability
 * that makes the expected residual equal (1 - K/D)|M|^2 exactly. Sends fewer entries than TopK when the
 * mass is concentrated. */
#include "compressor.h"

#include <string.h>

int64_t fednl_toplek(int64_t dim, int64_t k, const double *m, fednl_random *rng, int32_t *indices, double *values,
                     double *keys) {
    int64_t total = dim * (dim + 1) / 2;
    int64_t top = fednl_topk(dim, k, m, indices, values, keys);

    /* keys[0..top): weights of the TopK set; then order the set by weight, descending (insertion into a
     * permutation; top is K, a few thousand at most) */
    double norm_squared = 0.0;
    for (int64_t i = 0, e = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++, e++) norm_squared += (j == i ? 1.0 : 2.0) * m[e] * m[e];
    double *weight = keys;
    int32_t *order = (int32_t *)(keys + top); /* the workspace holds D + K words */
    /* diagonal entries sit at the row offsets; indices ascend, so the row only moves forward */
    for (int64_t t = 0, row = 0; t < top; t++) {
        int64_t e = indices[t];
        while (row + 1 < dim && fednl_packed_row_offset(dim, row + 1) <= e) row++;
        weight[t] = (e == fednl_packed_row_offset(dim, row) ? 1.0 : 2.0) * m[e] * m[e];
    }
    for (int64_t t = 0; t < top; t++) {
        int64_t p = t;
        while (p > 0 && weight[order[p - 1]] < weight[t]) {
            order[p] = order[p - 1];
            p--;
        }
        order[p] = (int32_t)t;
    }

    double bound = (1.0 - (double)top / (double)total) * norm_squared;
    /* keep the largest `keep` entries: the smallest count whose residual is within the bound */
    double kept = 0.0;
    int64_t keep = 0;
    while (keep < top && norm_squared - kept > bound) kept += weight[order[keep++]];

    int64_t chosen = keep;
    if (keep > 0) {
        /* residual without the boundary entry exceeds the bound, with it does not: keep it with probability p
         * so that p * with + (1 - p) * without = bound */
        double boundary = weight[order[keep - 1]];
        double without = norm_squared - (kept - boundary);
        double p = boundary > 0.0 ? (without - bound) / boundary : 1.0;
        if (fednl_random_uniform(rng) >= p) chosen = keep - 1;
    }

    /* gather the chosen set back into ascending index order */
    for (int64_t t = 0; t < chosen; t++) order[t] = indices[order[t]];
    fednl_sort_indices(order, chosen);
    for (int64_t t = 0; t < chosen; t++) {
        indices[t] = order[t];
        values[t] = m[order[t]];
    }
    return chosen;
}
