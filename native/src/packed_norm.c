/* packed_norm.c - Frobenius norm of a symmetric matrix stored as its packed upper triangle. */
#include "internal.h"

FEDNL_API int32_t fednl_packed_frobenius_norm(int64_t dim, const double *packed, double *norm) {
    if (dim < 0 || norm == NULL || (dim > 0 && packed == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_frobenius_norm: bad dim (%lld) or null buffer",
                          (long long)dim);
    *norm = sqrt(fednl_active_kernels()->packed_sum_squares(dim, packed));
    return FEDNL_OK;
}
