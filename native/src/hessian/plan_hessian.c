/* plan_hessian.c - a client's Hessian over its pattern, each round, from the row weights of the oracle pass. */
#include "plan.h"

#include <string.h>

/* Dense plan: the dense oracle formed every entry already (lambda included). */
static int32_t copy_dense(const fednl_plan_header *h, const double *dense_hessian, int64_t dense_hessian_length,
                          double *hessian) {
    if (dense_hessian == NULL)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "plan_hessian: a dense plan needs dense_hessian");
    int32_t status = fednl_check_length("plan_hessian", "dense_hessian_length", dense_hessian_length, h->pattern_length);
    if (status != FEDNL_OK) return status;
    memcpy(hessian, dense_hessian, (size_t)h->pattern_length * sizeof *hessian);
    return FEDNL_OK;
}

/* Sparse plan: each entry a sum of gathered row weights, then lambda on the diagonal. */
static int32_t gather_sparse(const uint64_t *plan, const fednl_plan_header *h, double *weights, int64_t weights_length,
                             double lambda, double *hessian) {
    if (weights == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "plan_hessian: weights is null");
    /* rows weights and the padding slot after them */
    int32_t status = fednl_check_length("plan_hessian", "weights_length", weights_length, h->rows + 1);
    if (status != FEDNL_OK) return status;
    if (!(lambda >= 0.0) || !isfinite(lambda))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "plan_hessian: lambda must be finite and >= 0");

    weights[h->rows] = 0.0; /* what the padding slots read */

    const fednl_vector_kernels *k = fednl_active_kernels();
    const int32_t *length = (const int32_t *)(plan + h->length_at);
    const int32_t *entry = (const int32_t *)(plan + h->entry_at);
    const uint8_t *sample = (const uint8_t *)(plan + h->sample_at);
    int32_t width = (int32_t)h->sample_bytes;
    const double *scale = (const double *)(plan + h->scale_at);
    const double *pair_value = (const double *)(plan + h->pair_value_at);
    k->plan_gather(h->uniform_groups, length, entry, scale, sample, width, NULL, weights, hessian);
    int64_t lanes = h->uniform_groups * FEDNL_PLAN_LANES;
    k->plan_gather(h->valued_groups, length + h->uniform_groups, entry + lanes, scale + lanes,
                   sample + h->uniform_slots * FEDNL_PLAN_LANES * width, width, pair_value, weights, hessian);

    const int32_t *diagonal = fednl_plan_diagonal(plan, h);
    for (int64_t i = 0; i < h->cols; i++) hessian[diagonal[i]] += lambda;
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_plan_hessian(const uint64_t *plan, int64_t plan_words, double *weights, int64_t weights_length,
                                     double lambda, const double *dense_hessian, int64_t dense_hessian_length,
                                     double *hessian, int64_t hessian_capacity) {
    const fednl_plan_header *h = fednl_plan_open(plan, plan_words, "plan_hessian");
    if (h == NULL) return FEDNL_ERR_INVALID_ARGUMENT;
    if (hessian == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "plan_hessian: hessian is null");
    int32_t status = fednl_check_length("plan_hessian", "hessian_capacity", hessian_capacity, h->pattern_length);
    if (status != FEDNL_OK) return status;
    if (h->kind == FEDNL_HESSIAN_PLAN_DENSE) return copy_dense(h, dense_hessian, dense_hessian_length, hessian);
    return gather_sparse(plan, h, weights, weights_length, lambda, hessian);
}
