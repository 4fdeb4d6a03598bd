/* logreg_sparse.c - logistic-regression oracle of one client on CSR data.
 * One pass over the rows gives the margins, f and the gradient; a second pass accumulates the Hessian as a
 * sum of sparse rank-1 terms, which costs sum_j nnz_j^2 / 2 instead of the dense rows * d^2 / 2. */
#include "internal.h"

#include <string.h>

/* Adds lambda/2 |x|^2 to *f, lambda x to grad and lambda I to the Hessian. */
static void add_regulariser(int64_t cols, const double *x, double lambda, double *f, double *grad,
                            double *hess_packed) {
    double norm_squared = 0.0;
    for (int64_t i = 0; i < cols; i++) norm_squared += x[i] * x[i];
    *f += 0.5 * lambda * norm_squared;
    if (grad != NULL)
        for (int64_t i = 0; i < cols; i++) grad[i] += lambda * x[i];
    if (hess_packed != NULL)
        for (int64_t i = 0; i < cols; i++) hess_packed[fednl_packed_row_offset(cols, i)] += lambda;
}

FEDNL_API int32_t fednl_logreg_sparse(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                      const double *values, const double *labels, const double *x, double lambda,
                                      double *margins, double *f, double *grad, double *hess_packed, double *weights) {
    if (rows < 0 || cols < 1 || cols > INT32_MAX)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "logreg_sparse: need rows >= 0 and 1 <= cols <= 2^31-1, got %lld x %lld",
                          (long long)rows, (long long)cols);
    if (row_ptr == NULL || x == NULL || f == NULL || (rows > 0 && (labels == NULL || margins == NULL)))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "logreg_sparse: a required buffer is null");
    if (row_ptr[rows] > 0 && (col_idx == NULL || values == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "logreg_sparse: col_idx or values is null");
    if (!(lambda >= 0.0) || !isfinite(lambda))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "logreg_sparse: lambda must be finite and >= 0");

    const fednl_vector_kernels *k = fednl_active_kernels();
    double inv_m = rows > 0 ? 1.0 / (double)rows : 0.0;

    if (grad != NULL) memset(grad, 0, (size_t)cols * sizeof *grad);
    fednl_loss_sum loss = fednl_loss_sum_start();
    for (int64_t j = 0; j < rows; j++) {
        int64_t begin = row_ptr[j], nnz = row_ptr[j + 1] - begin;
        double z = labels[j] * k->sparse_dot(nnz, col_idx + begin, values + begin, x);
        margins[j] = z;
        double s = fednl_loss_sum_add(&loss, z);
        if (grad != NULL) k->sparse_axpy(nnz, -inv_m * labels[j] * s, col_idx + begin, values + begin, grad);
        if (weights != NULL) weights[j] = inv_m * s * (1.0 - s);
    }

    if (hess_packed != NULL) {
        memset(hess_packed, 0, (size_t)(cols * (cols + 1) / 2) * sizeof *hess_packed);
        for (int64_t j = 0; j < rows; j++) {
            int64_t begin = row_ptr[j], nnz = row_ptr[j + 1] - begin;
            double s = fednl_sigmoid_neg(margins[j]);
            k->sparse_rank1_packed(cols, nnz, inv_m * s * (1.0 - s), col_idx + begin, values + begin, hess_packed);
        }
    }

    *f = fednl_loss_sum_total(&loss) * inv_m;
    add_regulariser(cols, x, lambda, f, grad, hess_packed);
    return FEDNL_OK;
}
