/* vector_kernels_reference.c - plain scalar C; the definition every other variant is tested against. */
#include "internal.h"

static double sparse_dot(int64_t nnz, const int32_t *idx, const double *val, const double *x) {
    double sum = 0.0;
    for (int64_t k = 0; k < nnz; k++) sum += val[k] * x[idx[k]];
    return sum;
}

static void sparse_axpy(int64_t nnz, double alpha, const int32_t *idx, const double *val, double *y) {
    for (int64_t k = 0; k < nnz; k++) y[idx[k]] += alpha * val[k];
}

static void sparse_rank1_packed(int64_t dim, int64_t nnz, double alpha, const int32_t *idx, const double *val,
                                double *packed) {
    for (int64_t p = 0; p < nnz; p++) {
        double *row = packed + fednl_packed_row_base(dim, idx[p]);
        double scale = alpha * val[p];
        for (int64_t q = p; q < nnz; q++) row[idx[q]] += scale * val[q];
    }
}

static double packed_sum_squares(int64_t dim, const double *packed) {
    /* 2 * (all packed squares) - (diagonal squares): every off-diagonal entry counts twice. The result is at
     * least half the first term, so the subtraction loses no precision. */
    int64_t total = dim * (dim + 1) / 2;
    double all = 0.0, diagonal = 0.0;
    for (int64_t k = 0; k < total; k++) all += packed[k] * packed[k];
    for (int64_t i = 0; i < dim; i++) {
        double v = packed[fednl_packed_row_offset(dim, i)];
        diagonal += v * v;
    }
    return 2.0 * all - diagonal;
}

const fednl_vector_kernels fednl_vector_kernels_reference = {
    sparse_dot,
    sparse_axpy,
    sparse_rank1_packed,
    packed_sum_squares,
};
