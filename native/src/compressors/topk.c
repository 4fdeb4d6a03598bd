/* topk.c - TopK: the K entries of largest weighted magnitude. Ties at the threshold go to the lowest indices,
 * so the result is deterministic. Contractive: |TopK(M) - M|^2 <= (1 - K/D) |M|^2. */
#include "compressor.h"

int64_t fednl_topk(int64_t dim, int64_t k, const double *m, int32_t *indices, double *values, double *keys) {
    int64_t total = dim * (dim + 1) / 2;
    fednl_entry_weights_squared(dim, m, keys);
    double threshold = fednl_kth_largest(keys, total, k);

    /* keys were reordered by the selection: recompute each weight on the fly in the collecting pass */
    int64_t above = 0;
    for (int64_t i = 0, e = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++, e++) above += (j == i ? 1.0 : 2.0) * m[e] * m[e] > threshold;

    int64_t ties_left = k - above, count = 0;
    for (int64_t i = 0, e = 0; i < dim; i++) {
        for (int64_t j = i; j < dim; j++, e++) {
            double key = (j == i ? 1.0 : 2.0) * m[e] * m[e];
            if (key > threshold || (key == threshold && ties_left-- > 0)) {
                indices[count] = (int32_t)e;
                values[count++] = m[e];
            }
        }
    }
    return count;
}
