/* logreg_sparse.c - logistic-regression oracle of one client on CSR data.
 * Rows go in small blocks: the block's margins (sparse dots), then one vector pass of the loss step (exp, loss,
 * sigmoid, row weights), then the gradient's sparse axpys (with the next block's dots in between) and, when asked,
 * the Hessian as a sum of sparse rank-1 terms, which costs sum_j nnz_j^2 / 2 instead of the dense rows * d^2 / 2. */
#include "internal.h"

#include <string.h>

/* Rows per pass of dots, loss step and axpys: few enough that their CSR entries are still in L1 when the axpys
 * read them again (64 rows of 30 non-zeros are 23 KB), a multiple of FEDNL_LOSS_LANES. */
enum { ORACLE_ROWS = 64 };

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

/* b_j a_j^T x */
static inline double margin(const fednl_vector_kernels *k, const int64_t *row_ptr, const int32_t *col_idx,
                            const double *values, const double *labels, const double *x, int64_t j) {
    int64_t begin = row_ptr[j];
    return labels[j] * k->sparse_dot(row_ptr[j + 1] - begin, col_idx + begin, values + begin, x);
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
    if (hess_packed != NULL) memset(hess_packed, 0, (size_t)(cols * (cols + 1) / 2) * sizeof *hess_packed);
    fednl_loss_sum loss = fednl_loss_sum_start();
    double coef[ORACLE_ROWS], block_weights[ORACLE_ROWS];
    for (int64_t j = 0; j < rows && j < ORACLE_ROWS; j++) margins[j] = margin(k, row_ptr, col_idx, values, labels, x, j);
    for (int64_t first = 0; first < rows; first += ORACLE_ROWS) {
        int64_t count = rows - first < ORACLE_ROWS ? rows - first : ORACLE_ROWS, end = first + count;
        double *w = weights != NULL ? weights + first : block_weights;
        fednl_loss_sum_add(&loss, k, count, margins + first, labels + first, inv_m, coef, w);
        /* the next block's dots between this block's axpys: consecutive axpys would gather gradient entries the
         * previous one has just stored (the intercept's in every row) and wait for the stores */
        for (int64_t j = first; j < end; j++) {
            if (j + ORACLE_ROWS < rows) margins[j + ORACLE_ROWS] = margin(k, row_ptr, col_idx, values, labels, x, j + ORACLE_ROWS);
            int64_t begin = row_ptr[j];
            if (grad != NULL) k->sparse_axpy(row_ptr[j + 1] - begin, coef[j - first], col_idx + begin, values + begin, grad);
        }
        if (hess_packed != NULL)
            for (int64_t j = first; j < end; j++) {
                int64_t begin = row_ptr[j];
                k->sparse_rank1_packed(cols, row_ptr[j + 1] - begin, w[j - first], col_idx + begin, values + begin,
                                       hess_packed);
            }
    }

    *f = fednl_loss_sum_total(&loss) * inv_m;
    add_regulariser(cols, x, lambda, f, grad, hess_packed);
    return FEDNL_OK;
}
