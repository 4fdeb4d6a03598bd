/* test_logreg.c - the logistic-regression oracles against the plain reference and finite differences. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void test_logreg_sparse_matches_dense_reference(void);
void test_logreg_sparse_handles_empty_rows_and_clients(void);
void test_logreg_gradient_matches_finite_differences(void);
void test_logreg_hessian_matches_finite_differences(void);
void test_logreg_dense_matches_sparse(void);
void test_logreg_dense_variants_agree_bitwise(void);
void test_logreg_loss_is_stable_for_large_margins(void);
void test_logreg_rejects_bad_arguments(void);

static const double lambda = 1e-3;

/* Compares the sparse oracle with the reference on one random problem. */
static void compare_with_reference(int64_t rows, int64_t cols, double density, uint64_t seed) {
    test_problem p = test_problem_make(rows, cols, density, seed);
    int64_t packed_len = cols * (cols + 1) / 2;
    double *margins = malloc((size_t)(rows + 1) * sizeof(double)), *grad = malloc((size_t)cols * sizeof(double));
    double *hess = malloc((size_t)packed_len * sizeof(double)), *ref_grad = malloc((size_t)cols * sizeof(double));
    double *ref_hess = malloc((size_t)(cols * cols) * sizeof(double));
    double f = 0, ref_f = 0;

    CHECK_STATUS(fednl_logreg_sparse(rows, cols, p.row_ptr, p.col_idx, p.values, p.labels, p.x, lambda, margins, &f,
                                     grad, hess, NULL),
                 FEDNL_OK);
    test_reference_oracle(&p, lambda, &ref_f, ref_grad, ref_hess);
    CHECK_CLOSE(f, ref_f, 1e-13 * (1.0 + fabs(ref_f)));
    for (int64_t i = 0; i < cols; i++) CHECK_CLOSE(grad[i], ref_grad[i], 1e-14 + 1e-12 * fabs(ref_grad[i]));
    for (int64_t r = 0; r < cols; r++)
        for (int64_t c = r; c < cols; c++)
            CHECK_CLOSE(test_packed_get(cols, hess, r, c), ref_hess[r * cols + c], 1e-14 + 1e-12 * fabs(ref_hess[r * cols + c]));
    free(margins);
    free(grad);
    free(hess);
    free(ref_grad);
    free(ref_hess);
    test_problem_free(&p);
}

void test_logreg_sparse_matches_dense_reference(void) {
    const int64_t dims[] = {1, 2, 3, 5, 8, 31, 64, 97};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        compare_with_reference(50, dims[k], 0.3, 100 + k);
        compare_with_reference(13, dims[k], 0.9, 200 + k);
    }
}

void test_logreg_sparse_handles_empty_rows_and_clients(void) {
    /* density 0.05 on 6 columns leaves most rows empty */
    compare_with_reference(30, 6, 0.05, 11);
    /* a client with no samples: only the regulariser remains */
    int64_t row_ptr[1] = {0};
    double x[3] = {1.0, -2.0, 0.5}, grad[3], hess[6], f = -1;
    CHECK_STATUS(fednl_logreg_sparse(0, 3, row_ptr, NULL, NULL, NULL, x, 0.5, NULL, &f, grad, hess, NULL), FEDNL_OK);
    CHECK_CLOSE(f, 0.25 * (1.0 + 4.0 + 0.25), 1e-15);
    CHECK_CLOSE(grad[1], -1.0, 1e-15);
    CHECK_CLOSE(hess[0], 0.5, 0.0);
    CHECK_CLOSE(hess[1], 0.0, 0.0);
    CHECK_CLOSE(hess[3], 0.5, 0.0);
}

static double objective(const test_problem *p, const double *x) {
    double *margins = malloc((size_t)(p->rows + 1) * sizeof(double)), f = 0;
    CHECK_STATUS(fednl_logreg_sparse(p->rows, p->cols, p->row_ptr, p->col_idx, p->values, p->labels, x, lambda, margins,
                                     &f, NULL, NULL, NULL),
                 FEDNL_OK);
    free(margins);
    return f;
}

static void gradient(const test_problem *p, const double *x, double *grad) {
    double *margins = malloc((size_t)(p->rows + 1) * sizeof(double)), f = 0;
    CHECK_STATUS(fednl_logreg_sparse(p->rows, p->cols, p->row_ptr, p->col_idx, p->values, p->labels, x, lambda, margins,
                                     &f, grad, NULL, NULL),
                 FEDNL_OK);
    free(margins);
}

void test_logreg_gradient_matches_finite_differences(void) {
    test_problem p = test_problem_make(60, 9, 0.5, 5);
    double grad[9], x[9], h = 1e-6;
    gradient(&p, p.x, grad);
    for (int i = 0; i < 9; i++) {
        memcpy(x, p.x, sizeof x);
        x[i] += h;
        double up = objective(&p, x);
        x[i] -= 2 * h;
        double down = objective(&p, x);
        CHECK_CLOSE(grad[i], (up - down) / (2 * h), 1e-8);
    }
    test_problem_free(&p);
}

void test_logreg_hessian_matches_finite_differences(void) {
    test_problem p = test_problem_make(60, 9, 0.5, 6);
    double hess[45], x[9], up[9], down[9], h = 1e-6, margins[60], f;
    CHECK_STATUS(fednl_logreg_sparse(p.rows, p.cols, p.row_ptr, p.col_idx, p.values, p.labels, p.x, lambda, margins, &f,
                                     NULL, hess, NULL),
                 FEDNL_OK);
    for (int c = 0; c < 9; c++) {
        memcpy(x, p.x, sizeof x);
        x[c] += h;
        gradient(&p, x, up);
        x[c] -= 2 * h;
        gradient(&p, x, down);
        for (int r = 0; r < 9; r++) CHECK_CLOSE(test_packed_get(9, hess, r, c), (up[r] - down[r]) / (2 * h), 1e-8);
    }
    test_problem_free(&p);
}

void test_logreg_dense_matches_sparse(void) {
    const int64_t dims[] = {1, 4, 33, 120};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        int64_t rows = 45, cols = dims[k], packed_len = cols * (cols + 1) / 2;
        test_problem p = test_problem_make(rows, cols, 0.4, 300 + k);
        int64_t work_len = fednl_logreg_dense_workspace(rows, cols);
        double *work = malloc((size_t)work_len * sizeof(double)), margins_s[45], margins_d[45], fs, fd;
        double *gs = malloc((size_t)cols * sizeof(double)), *gd = malloc((size_t)cols * sizeof(double));
        double *hs = malloc((size_t)packed_len * sizeof(double)), *hd = malloc((size_t)packed_len * sizeof(double));
        CHECK_STATUS(fednl_logreg_sparse(rows, cols, p.row_ptr, p.col_idx, p.values, p.labels, p.x, lambda, margins_s,
                                         &fs, gs, hs, NULL),
                     FEDNL_OK);
        CHECK_STATUS(fednl_logreg_dense(rows, cols, p.dense, p.labels, p.x, lambda, margins_d, &fd, gd, hd, NULL, work, work_len),
                     FEDNL_OK);
        CHECK_CLOSE(fd, fs, 1e-13);
        for (int64_t j = 0; j < rows; j++) CHECK_CLOSE(margins_d[j], margins_s[j], 1e-12);
        for (int64_t i = 0; i < cols; i++) CHECK_CLOSE(gd[i], gs[i], 1e-14);
        for (int64_t i = 0; i < packed_len; i++) CHECK_CLOSE(hd[i], hs[i], 1e-14);
        free(work);
        free(gs);
        free(gd);
        free(hs);
        free(hd);
        test_problem_free(&p);
    }
}

/* One dense oracle call's outputs (gradient and row weights, no Hessian). */
typedef struct {
    double f, *margins, *grad, *weights;
} dense_out;

static dense_out run_dense_oracle(const test_problem *p) {
    int64_t work_len = fednl_logreg_dense_workspace(p->rows, p->cols);
    double *work = malloc((size_t)work_len * sizeof(double));
    dense_out o = {0, malloc((size_t)(p->rows + 1) * sizeof(double)), malloc((size_t)p->cols * sizeof(double)),
                   malloc((size_t)(p->rows + 1) * sizeof(double))};
    CHECK_STATUS(fednl_logreg_dense(p->rows, p->cols, p->dense, p->labels, p->x, lambda, o.margins, &o.f, o.grad, NULL,
                                    o.weights, work, work_len),
                 FEDNL_OK);
    free(work);
    return o;
}

static void dense_out_free(dense_out *o) {
    free(o->margins);
    free(o->grad);
    free(o->weights);
}

/* The dense oracle's margins and gradient in their fixed orders written plainly (exactly the kernels' bits, in every
 * variant), near long-double sums, and the active variant (AVX2 under the reference) bit for bit the reference's,
 * over shapes that leave every remainder of the eight-row, eight-lane and 32/64-column blocks. */
void test_logreg_dense_variants_agree_bitwise(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    int32_t before = info.active_variant;
    int32_t variant = before == FEDNL_KERNEL_REFERENCE && info.avx2_available ? FEDNL_KERNEL_AVX2 : before;
    const int64_t shapes[][2] = {{0, 3}, {1, 1}, {3, 7}, {4, 8}, {7, 9}, {8, 16}, {9, 31}, {12, 33}, {15, 63},
                                 {16, 64}, {17, 65}, {77, 69}, {5, 71}, {12, 130}, {3, 500}, {40, 2}};
    for (size_t n = 0; n < sizeof shapes / sizeof shapes[0]; n++) {
        int64_t rows = shapes[n][0], cols = shapes[n][1];
        test_problem p = test_problem_make(rows, cols, 0.6, 4100 + n);
        CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_REFERENCE), FEDNL_OK);
        dense_out a = run_dense_oracle(&p);
        CHECK_STATUS(fednl_set_kernel_variant(variant), FEDNL_OK);
        dense_out v = run_dense_oracle(&p);
        CHECK(memcmp(&a.f, &v.f, sizeof a.f) == 0);
        CHECK(memcmp(a.margins, v.margins, (size_t)rows * sizeof(double)) == 0);
        CHECK(memcmp(a.weights, v.weights, (size_t)rows * sizeof(double)) == 0);
        CHECK(memcmp(a.grad, v.grad, (size_t)cols * sizeof(double)) == 0);

        int64_t whole = cols - cols % 8;
        double *coef = malloc((size_t)(rows + 1) * sizeof(double));
        for (int64_t j = 0; j < rows; j++) {
            const double *row = p.dense + j * cols;
            double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            long double naive = 0.0L;
            for (int64_t i = 0; i < cols; i++) {
                if (i < whole) lanes[i % 8] = fma(row[i], p.x[i], lanes[i % 8]);
                naive += (long double)row[i] * p.x[i];
            }
            double dot = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
            for (int64_t i = whole; i < cols; i++) dot = fma(row[i], p.x[i], dot);
            CHECK(v.margins[j] == p.labels[j] * dot);
            CHECK_CLOSE(v.margins[j], (double)(p.labels[j] * naive), 1e-14);
            double s = 1.0 / (1.0 + exp(v.margins[j])); /* sigma(-z), within rounding of the loss step's */
            coef[j] = -p.labels[j] * s / (double)rows;
        }
        for (int64_t i = 0; i < cols; i++) {
            double g = lambda * p.x[i];
            for (int64_t j = 0; j < rows; j++) g = fma(coef[j], p.dense[j * cols + i], g);
            CHECK_CLOSE(v.grad[i], g, 1e-15);
        }
        free(coef);
        dense_out_free(&a);
        dense_out_free(&v);
        test_problem_free(&p);
    }
    CHECK_STATUS(fednl_set_kernel_variant(before), FEDNL_OK);
}

void test_logreg_loss_is_stable_for_large_margins(void) {
    /* one sample, one feature: z = b * a * x reaches +-1000, where exp overflows a naive formula */
    int64_t row_ptr[2] = {0, 1};
    int32_t col_idx[1] = {0};
    double values[1] = {1.0}, margins[1], f, grad[1], hess[1];
    const double labels_pos[1] = {1.0}, labels_neg[1] = {-1.0};
    double x[1] = {1000.0};
    CHECK_STATUS(fednl_logreg_sparse(1, 1, row_ptr, col_idx, values, labels_pos, x, 0.0, margins, &f, grad, hess, NULL), FEDNL_OK);
    CHECK(isfinite(f) && f >= 0.0 && f < 1e-300);
    CHECK(isfinite(grad[0]) && isfinite(hess[0]));
    CHECK_STATUS(fednl_logreg_sparse(1, 1, row_ptr, col_idx, values, labels_neg, x, 0.0, margins, &f, grad, hess, NULL), FEDNL_OK);
    CHECK_CLOSE(f, 1000.0, 1e-12);
    CHECK_CLOSE(grad[0], 1.0, 1e-15);
    CHECK(hess[0] >= 0.0 && hess[0] < 1e-300);
}

void test_logreg_rejects_bad_arguments(void) {
    int64_t row_ptr[2] = {0, 0};
    double x[2] = {0, 0}, margins[1], labels[1] = {1}, f;
    CHECK_STATUS(fednl_logreg_sparse(1, 0, row_ptr, NULL, NULL, labels, x, 0.0, margins, &f, NULL, NULL, NULL),
                 FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_logreg_sparse(1, 2, row_ptr, NULL, NULL, labels, x, -1.0, margins, &f, NULL, NULL, NULL),
                 FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_logreg_sparse(1, 2, row_ptr, NULL, NULL, labels, x, 0.0, NULL, &f, NULL, NULL, NULL),
                 FEDNL_ERR_INVALID_ARGUMENT);
    double a[2] = {1, 2}, grad[2], work[1];
    CHECK_STATUS(fednl_logreg_dense(1, 2, a, labels, x, 0.0, margins, &f, grad, NULL, NULL, work, 1), FEDNL_ERR_WORKSPACE_TOO_SMALL);
}
