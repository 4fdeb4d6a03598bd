/* packed_solve.c - (H + shift I) x = rhs by Cholesky, for the server's Newton step.
 * The packed triangle is unpacked into a full column-major matrix so LAPACK's blocked dpotrf runs, which is
 * several times faster than the packed dpptrf at the sizes FedNL meets. */
#include "internal.h"

#include <lapacke.h>
#include <string.h>

FEDNL_API int64_t fednl_packed_solve_workspace(int64_t dim) { return dim < 1 ? 0 : dim * dim + dim; }

FEDNL_API int32_t fednl_packed_solve(int64_t dim, const double *packed, double shift, const double *rhs,
                                     double *solution, double *work, int64_t work_len) {
    if (dim < 1 || dim > 46340)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_solve: dim must be in [1, 46340], got %lld", (long long)dim);
    if (packed == NULL || rhs == NULL || solution == NULL)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_solve: a required buffer is null");
    if (!isfinite(shift)) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "packed_solve: shift is not finite");
    int64_t needed = fednl_packed_solve_workspace(dim);
    if (work == NULL || work_len < needed)
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "packed_solve: workspace of %lld doubles, need %lld",
                          (long long)work_len, (long long)needed);

    fednl_blas_init();
    const lapack_int n = (lapack_int)dim;
    double *full = work, *x = work + dim * dim;
    /* Row i of the packed upper triangle is column i of a column-major lower triangle. */
    const double *src = packed;
    for (int64_t i = 0; i < dim; i++) {
        memcpy(full + i * dim + i, src, (size_t)(dim - i) * sizeof *full);
        full[i * dim + i] += shift;
        src += dim - i;
    }

    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, full, n);
    if (info > 0)
        return fednl_fail(FEDNL_ERR_NOT_POSITIVE_DEFINITE,
                          "packed_solve: H + %g I is not positive definite (leading minor of order %d)", shift, (int)info);
    if (info < 0) return fednl_fail(FEDNL_ERR_LAPACK, "packed_solve: dpotrf rejected argument %d", (int)-info);

    memcpy(x, rhs, (size_t)dim * sizeof *x);
    info = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', n, 1, full, n, x, n);
    if (info != 0) return fednl_fail(FEDNL_ERR_LAPACK, "packed_solve: dpotrs returned %d", (int)info);
    for (int64_t i = 0; i < dim; i++)
        if (!isfinite(x[i]))
            return fednl_fail(FEDNL_ERR_NOT_POSITIVE_DEFINITE,
                              "packed_solve: the solution is not finite (the matrix is singular to working precision "
                              "or holds NaN/Inf)");
    memcpy(solution, x, (size_t)dim * sizeof *solution);
    return FEDNL_OK;
}
