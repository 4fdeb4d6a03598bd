/* logreg_dense.c - logistic-regression oracle of one client on dense row-major data: margins and gradient by the
 * variant's kernels (each variant the same bits; OpenBLAS's dgemv spent more in its call than in the sums at the
 * client sizes this oracle serves), the Hessian through OpenBLAS's dsyrk.
 * Worth it when the data is dense enough that dsyrk's blocked d^2 m / 2 beats the sparse rank-1 sum. Clients with
 * few rows skip its Hessian: they take the row weights to the fused step (hessian/dense_step.c). */
#include "internal.h"

#include <cblas.h>
#include <string.h>

FEDNL_API int64_t fednl_logreg_dense_workspace(int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 1) return 0;
    /* rows each: the gradient's coefficients and the Hessian's row weights; rows*cols: scaled rows; cols*cols:
     * dsyrk's full output. */
    return 2 * rows + rows * cols + cols * cols;
}

FEDNL_API int32_t fednl_logreg_dense(int64_t rows, int64_t cols, const double *a, const double *labels,
                                     const double *x, double lambda, double *margins, double *f, double *grad,
                                     double *hess_packed, double *weights, double *work, int64_t work_len) {
    if (rows < 0 || cols < 1 || rows > INT32_MAX || cols > INT32_MAX)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "logreg_dense: need rows >= 0 and 1 <= cols, both < 2^31, got %lld x %lld",
                          (long long)rows, (long long)cols);
    if (x == NULL || f == NULL || (rows > 0 && (a == NULL || labels == NULL || margins == NULL)))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "logreg_dense: a required buffer is null");
    if (!(lambda >= 0.0) || !isfinite(lambda))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "logreg_dense: lambda must be finite and >= 0");
    int64_t needed = fednl_logreg_dense_workspace(rows, cols);
    if ((grad != NULL || hess_packed != NULL) && (work == NULL || work_len < needed))
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "logreg_dense: workspace of %lld doubles, need %lld",
                          (long long)work_len, (long long)needed);

    fednl_blas_init();
    const int m = (int)rows, d = (int)cols;
    double inv_m = rows > 0 ? 1.0 / (double)rows : 0.0;

    /* the loss step forms each row's gradient coefficient and Hessian weight with its loss term, from the same exp
     * (as fednl_logreg_sparse's do) */
    double *coef = grad != NULL ? work : NULL;
    double *row_weights = weights != NULL ? weights : hess_packed != NULL ? work + rows : NULL;
    fednl_loss_sum loss = fednl_loss_sum_start();
    const fednl_vector_kernels *kernels = fednl_active_kernels();
    if (m > 0) {
        kernels->dense_margins(rows, cols, a, x, labels, margins);
        fednl_loss_sum_rows(&loss, kernels, rows, margins, labels, inv_m, coef, row_weights);
    }

    double norm_squared = 0.0;
    for (int i = 0; i < d; i++) norm_squared += x[i] * x[i];
    *f = fednl_loss_sum_total(&loss) * inv_m + 0.5 * lambda * norm_squared;

    if (grad != NULL) kernels->dense_gradient(rows, cols, a, coef, lambda, x, grad);

    if (hess_packed != NULL) {
        double *scaled = work + 2 * rows, *full = scaled + rows * cols;
        if (m > 0) {
            /* H = sum_j w_j a_j a_j^T = B^T B with row j of B = sqrt(w_j) a_j (w_j = s_j (1 - s_j) / m). */
            for (int j = 0; j < m; j++) {
                double scale = sqrt(row_weights[j]);
                const double *src = a + (int64_t)j * d;
                double *dst = scaled + (int64_t)j * d;
                for (int i = 0; i < d; i++) dst[i] = scale * src[i];
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, m, 1.0, scaled, d, 0.0, full, d);
        } else {
            memset(full, 0, (size_t)d * (size_t)d * sizeof *full);
        }
        double *out = hess_packed;
        for (int i = 0; i < d; i++) {
            const double *row = full + (int64_t)i * d;
            memcpy(out, row + i, (size_t)(d - i) * sizeof *out);
            out[0] += lambda;
            out += d - i;
        }
    }
    return FEDNL_OK;
}
