/* dense_step.c - a dense client's round without a formed Hessian: the fixed-order packed Hessian (fednl_dense_hessian)
 * and the shift step fused with it (fednl_dense_shift_step). The kernels (fednl_dense_job, internal.h) run each packed
 * row in strips that stay in registers from the Hessian's sum to the stored S and shift. */
#include "../compressors/compressor.h"
#include "shift_step.h"

static int64_t packed_length(int64_t dim) { return dim * (dim + 1) / 2; }

static int is_dense_kind(int32_t kind) { return kind == FEDNL_COMPRESSOR_IDENTICAL || kind == FEDNL_COMPRESSOR_NATURAL; }

/* Sums of squares of the full symmetric matrix from the kernel's lane sums (off-diagonal entries twice): the lanes
 * are added as a horizontal sum of two 4-lane vectors adds them, so a variant may add them in registers. */
static double full_squares(const double lanes[8], double diagonal) {
    double s0 = lanes[0] + lanes[4], s1 = lanes[1] + lanes[5], s2 = lanes[2] + lanes[6], s3 = lanes[3] + lanes[7];
    return 2.0 * ((s0 + s2) + (s1 + s3)) - diagonal;
}

static int32_t check_rows(const char *function, int64_t rows, int64_t cols, const double *a, const double *weights,
                          double lambda) {
    if (rows < 0 || rows > INT32_MAX || cols < 1 || cols > 65535)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: need 0 <= rows < 2^31 and 1 <= cols <= 65535, got %lld x %lld",
                          function, (long long)rows, (long long)cols);
    if (rows > 0 && (a == NULL || weights == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: a or weights is null", function);
    if (!(lambda >= 0.0) || !isfinite(lambda))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: lambda must be finite and >= 0", function);
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_dense_hessian(int64_t rows, int64_t cols, const double *a, const double *weights, double lambda,
                                      double *hess_packed) {
    int32_t status = check_rows("dense_hessian", rows, cols, a, weights, lambda);
    if (status != FEDNL_OK) return status;
    if (hess_packed == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "dense_hessian: hess_packed is null");
    fednl_dense_job job = {FEDNL_DENSE_HESSIAN, 0, rows, cols, a, weights, lambda, 0.0, 0, NULL, hess_packed};
    fednl_dense_sums sums;
    fednl_active_kernels()->dense_step(&job, &sums);
    return FEDNL_OK;
}

static int32_t check_step(const fednl_compressor *c, int64_t cols, const double *shift, int64_t shift_length,
                          double alpha, const double *difference_norm, const double *difference,
                          int64_t difference_length, const int32_t *indices, int64_t indices_capacity,
                          const double *values, int64_t values_capacity, const int64_t *count, const uint64_t *work,
                          int64_t work_len) {
    const char *f = "dense_shift_step";
    int64_t total = packed_length(cols);
    if (c == NULL || c->kind < FEDNL_COMPRESSOR_IDENTICAL || c->kind > FEDNL_COMPRESSOR_PERMK ||
        (!is_dense_kind(c->kind) && c->kind != FEDNL_COMPRESSOR_PERMK && c->k < 1))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: null compressor, unknown kind or K < 1", f);
    if (c->kind == FEDNL_COMPRESSOR_PERMK && fednl_check_permk(c, total, f) != FEDNL_OK) return FEDNL_ERR_INVALID_ARGUMENT;
    int dense = is_dense_kind(c->kind);
    if (shift == NULL || difference_norm == NULL || values == NULL || count == NULL ||
        (!dense && (indices == NULL || difference == NULL)))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: a required buffer is null", f);
    if (!isfinite(alpha)) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: alpha is not finite", f);
    int64_t written = dense ? total : fednl_sparse_budget(c, total);
    int32_t status = fednl_check_length(f, "shift_length", shift_length, total);
    if (status == FEDNL_OK && !dense) status = fednl_check_length(f, "difference_length", difference_length, total);
    if (status == FEDNL_OK && indices != NULL) status = fednl_check_length(f, "indices_capacity", indices_capacity, written);
    if (status == FEDNL_OK) status = fednl_check_length(f, "values_capacity", values_capacity, written);
    if (status != FEDNL_OK) return status;
    int64_t needed = fednl_pattern_step_workspace(c, cols, total);
    if (needed > 0 && (work == NULL || work_len < needed))
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "%s: workspace of %lld words, need %lld", f, (long long)work_len,
                          (long long)needed);
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_dense_shift_step(const fednl_compressor *c, int64_t rows, int64_t cols, const double *a,
                                         const double *weights, double lambda, double *shift, int64_t shift_length,
                                         double alpha, double *difference_norm, double *remaining_norm, double *difference,
                                         int64_t difference_length, int32_t *indices, int64_t indices_capacity,
                                         double *values, int64_t values_capacity, int64_t *count, uint64_t *work,
                                         int64_t work_len) {
    int32_t status = check_rows("dense_shift_step", rows, cols, a, weights, lambda);
    if (status == FEDNL_OK)
        status = check_step(c, cols, shift, shift_length, alpha, difference_norm, difference, difference_length, indices,
                            indices_capacity, values, values_capacity, count, work, work_len);
    if (status != FEDNL_OK) return status;

    int64_t total = packed_length(cols);
    const fednl_vector_kernels *kernels = fednl_active_kernels();
    fednl_dense_job job = {FEDNL_DENSE_HESSIAN, 0, rows, cols, a, weights, lambda, alpha, fednl_counter_key(c->seed), shift,
                           difference};
    fednl_dense_sums sums;
    if (is_dense_kind(c->kind)) {
        job.mode = c->kind == FEDNL_COMPRESSOR_NATURAL ? FEDNL_DENSE_NATURAL : FEDNL_DENSE_IDENTICAL;
        job.remaining = remaining_norm != NULL;
        job.out = values;
        kernels->dense_step(&job, &sums);
        *difference_norm = sqrt(full_squares(sums.squares, sums.diagonal));
        if (remaining_norm != NULL) *remaining_norm = sqrt(full_squares(sums.remaining, sums.remaining_diagonal));
        if (indices != NULL)
            for (int64_t e = 0; e < total; e++) indices[e] = (int32_t)e;
        *count = total;
        return FEDNL_OK;
    }
    /* the selecting kinds form their keys with M in one pass of their own: give them the Hessian */
    int selecting = c->kind == FEDNL_COMPRESSOR_TOPK || c->kind == FEDNL_COMPRESSOR_TOPLEK;
    job.mode = selecting ? FEDNL_DENSE_HESSIAN : FEDNL_DENSE_DIFFERENCE;
    kernels->dense_step(&job, &sums);
    if (!selecting) *difference_norm = sqrt(full_squares(sums.squares, sums.diagonal));
    fednl_step_pattern every = {cols, total, NULL, NULL, NULL, NULL};
    fednl_shift_step_run(c, &every, difference, !selecting, shift, alpha, difference_norm, remaining_norm, indices, values,
                         count, work);
    return FEDNL_OK;
}
