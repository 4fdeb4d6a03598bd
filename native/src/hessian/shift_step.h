/* shift_step.h - the client's FedNL shift step after its Hessian is formed, shared by the plan's step
 * (pattern_step.c) and the fused dense step (dense_step.c). */
#ifndef FEDNL_SHIFT_STEP_H
#define FEDNL_SHIFT_STEP_H

#include "../internal.h"

/* The entries a step works on: n of the packed d x d matrix. */
typedef struct fednl_step_pattern {
    int64_t dim, n;
    /* ascending packed offsets of the entries; null: every entry (n = D) */
    const int32_t *offsets;
    /* positions of the dim diagonal entries; null: the packed row offsets */
    const int32_t *diagonal;
    /* RandK's pattern bitmap and its per-word ranks (fednl_vector_kernels.randk_gather); bits null: every entry */
    const uint64_t *bits;
    const int32_t *rank;
} fednl_step_pattern;

/* The step of fednl_pattern_shift_step on p's entries, arguments checked: difference holds the Hessian over them,
 * or, when difference_formed (not for topk and toplek, whose keys come from the pass that forms M), already
 * M = Hessian - shift with *difference_norm = |M|_F set. work holds
 * fednl_pattern_step_workspace words for p->n entries. */
void fednl_shift_step_run(const fednl_compressor *c, const fednl_step_pattern *p, double *difference,
                          int difference_formed, double *shift, double alpha, double *difference_norm,
                          double *remaining_norm, int32_t *indices, double *values, int64_t *count, uint64_t *work);

#endif
