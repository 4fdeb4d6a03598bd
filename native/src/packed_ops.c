/* packed_ops.c - the server's fold of compressed matrices into its packed Hessian estimate. */
#include "internal.h"

FEDNL_API int32_t fednl_packed_add_compressed(int64_t dim, double *packed, double scale, const int32_t *indices,
                                              const double *values, int64_t count) {
    int64_t total = dim * (dim + 1) / 2;
    if (dim < 1 || packed == NULL || (count > 0 && values == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_add_compressed: bad dim (%lld) or null buffer", (long long)dim);
    if (indices == NULL) {
        if (count != total)
            return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_add_compressed: a dense update has %lld entries, not D = %lld",
                              (long long)count, (long long)total);
        for (int64_t e = 0; e < total; e++) packed[e] += scale * values[e];
        return FEDNL_OK;
    }
    if (count < 0 || count > total)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_add_compressed: count %lld outside [0, %lld]", (long long)count,
                          (long long)total);
    for (int64_t t = 0; t < count; t++) {
        if (indices[t] < 0 || indices[t] >= total)
            return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_add_compressed: index %d outside [0, %lld)", indices[t],
                              (long long)total);
    }
    for (int64_t t = 0; t < count; t++) packed[indices[t]] += scale * values[t];
    return FEDNL_OK;
}
