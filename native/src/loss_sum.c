/* loss_sum.c - the oracle's loss step over all of a client's margins, block by block (internal.h, loss_step.h). */
#include "internal.h"

void fednl_loss_sum_rows(fednl_loss_sum *s, const fednl_vector_kernels *k, int64_t rows, const double *z,
                         const double *labels, double inv_m, double *coef, double *weights) {
    double block_coef[FEDNL_LOSS_BLOCK], block_weights[FEDNL_LOSS_BLOCK];
    for (int64_t j = 0; j < rows; j += FEDNL_LOSS_BLOCK) {
        int64_t count = rows - j < FEDNL_LOSS_BLOCK ? rows - j : FEDNL_LOSS_BLOCK;
        fednl_loss_sum_add(s, k, count, z + j, labels + j, inv_m, coef != NULL ? coef + j : block_coef,
                           weights != NULL ? weights + j : block_weights);
    }
}
