/* test_dense_step.c - the fixed-order dense Hessian and the fused dense client step: against plain loops (exactly
 * for the fixed order, within rounding for a naive sum, dsyrk and finite differences), against the plan's step on the
 * same Hessian, and every kernel variant against the reference bit for bit. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void test_dense_hessian_matches_plain_sums(void);
void test_dense_hessian_matches_finite_differences(void);
void test_dense_step_matches_pattern_step(void);
void test_dense_step_variants_agree_bitwise(void);
void test_dense_step_rejects_bad_arguments(void);

static const double lambda = 1e-3;

/* The oracle's row weights at p->x (from fednl_logreg_dense). */
static double *row_weights(const test_problem *p) {
    double *margins = malloc((size_t)(p->rows + 1) * sizeof(double)), *w = malloc((size_t)(p->rows + 1) * sizeof(double)), f;
    CHECK_STATUS(fednl_logreg_dense(p->rows, p->cols, p->dense, p->labels, p->x, lambda, margins, &f, NULL, NULL, w, NULL, 0),
                 FEDNL_OK);
    for (int64_t j = 0; j < p->rows; j++) {
        double s = 1.0 / (1.0 + exp(margins[j]));
        CHECK_CLOSE(w[j], s * (1.0 - s) / (double)p->rows, 1e-15 / (double)p->rows);
    }
    free(margins);
    return w;
}

static double *hessian_of(const test_problem *p, const double *w) {
    int64_t total = p->cols * (p->cols + 1) / 2;
    double *h = malloc((size_t)total * sizeof(double));
    CHECK_STATUS(fednl_dense_hessian(p->rows, p->cols, p->dense, w, lambda, h), FEDNL_OK);
    return h;
}

/* The fixed order written plainly (exactly the kernel's bits), a naive sum in long double (within rounding) and the
 * OpenBLAS oracle's packed Hessian (within rounding), over shapes that leave every strip remainder. */
void test_dense_hessian_matches_plain_sums(void) {
    /* the AVX2 panels' edges: dims 1..7 around the four rows of a panel and the twelve columns of a tile, and the
     * row-by-row strips past the panel's bounds (more than 1024 samples, dim above 1020) */
    const int64_t shapes[][2] = {{0, 5}, {1, 1}, {3, 2},    {12, 37},  {7, 70},  {40, 33}, {12, 101},
                                 {5, 6}, {4, 7}, {1024, 13}, {1025, 13}, {2, 1021}, {1, 1030}};
    for (size_t n = 0; n < sizeof shapes / sizeof shapes[0]; n++) {
        int64_t rows = shapes[n][0], cols = shapes[n][1], total = cols * (cols + 1) / 2;
        test_problem p = test_problem_make(rows, cols, 0.7, 900 + n);
        double *w = row_weights(&p), *h = hessian_of(&p, w), *blas = malloc((size_t)total * sizeof(double));
        double *margins = malloc((size_t)(rows + 1) * sizeof(double)), f;
        int64_t work_len = fednl_logreg_dense_workspace(rows, cols);
        double *work = malloc((size_t)work_len * sizeof(double));
        CHECK_STATUS(fednl_logreg_dense(rows, cols, p.dense, p.labels, p.x, lambda, margins, &f, NULL, blas, NULL, work,
                                        work_len),
                     FEDNL_OK);
        for (int64_t i = 0, e = 0; i < cols; i++)
            for (int64_t k = i; k < cols; k++, e++) {
                double fixed = 0.0;
                long double naive = 0.0L;
                for (int64_t j = 0; j < rows; j++) {
                    fixed = fma(w[j] * p.dense[j * cols + i], p.dense[j * cols + k], fixed);
                    naive += (long double)w[j] * p.dense[j * cols + i] * p.dense[j * cols + k];
                }
                if (k == i) {
                    fixed += lambda;
                    naive += lambda;
                }
                CHECK(h[e] == fixed);
                CHECK_CLOSE(h[e], (double)naive, 1e-15);
                CHECK_CLOSE(h[e], blas[e], 1e-15);
            }
        free(w);
        free(h);
        free(blas);
        free(margins);
        free(work);
        test_problem_free(&p);
    }
}

/* Column c of the Hessian is the derivative of the gradient along x_c (central differences). */
void test_dense_hessian_matches_finite_differences(void) {
    int64_t rows = 30, cols = 9, total = 45;
    test_problem p = test_problem_make(rows, cols, 0.8, 950);
    double *w = row_weights(&p), *h = hessian_of(&p, w), x[9], up[9], down[9], margins[30], f, step = 1e-6;
    int64_t work_len = fednl_logreg_dense_workspace(rows, cols);
    double *work = malloc((size_t)work_len * sizeof(double));
    for (int c = 0; c < 9; c++) {
        memcpy(x, p.x, sizeof x);
        x[c] += step;
        CHECK_STATUS(fednl_logreg_dense(rows, cols, p.dense, p.labels, x, lambda, margins, &f, up, NULL, NULL, work, work_len),
                     FEDNL_OK);
        x[c] -= 2 * step;
        CHECK_STATUS(fednl_logreg_dense(rows, cols, p.dense, p.labels, x, lambda, margins, &f, down, NULL, NULL, work,
                                        work_len),
                     FEDNL_OK);
        for (int r = 0; r < 9; r++) CHECK_CLOSE(test_packed_get(9, h, r, c), (up[r] - down[r]) / (2 * step), 1e-8);
    }
    (void)total;
    free(w);
    free(h);
    free(work);
    test_problem_free(&p);
}

/* A dense step's inputs: a client whose column 2 is zero, so that off-diagonal Hessian entries in that column are 0
 * and M there is -shift, which the shift makes zero, subnormal, a power of two or not finite at chosen entries. */
typedef struct dense_case {
    test_problem p;
    int64_t total;
    double *w, *shift;
} dense_case;

static dense_case make_dense_case(int64_t rows, int64_t cols, uint64_t seed, int specials) {
    dense_case s;
    s.p = test_problem_make(rows, cols, 0.8, seed);
    if (cols > 2)
        for (int64_t j = 0; j < rows; j++) s.p.dense[j * cols + 2] = 0.0;
    s.total = cols * (cols + 1) / 2;
    s.w = row_weights(&s.p);
    s.shift = malloc((size_t)s.total * sizeof(double));
    test_rng rng = {seed + 7};
    for (int64_t e = 0; e < s.total; e++) s.shift[e] = 0.05 * test_normal(&rng);
    if (specials && cols > 2) {
        /* specials 1: finite ones only (the norms stay finite and are compared too); 2: infinities and NaN as well */
        const double special[] = {0.0, -0.0, -0x1.8p-1070, 0x1p-1050, -0.25, specials == 2 ? INFINITY : 0.5,
                                  specials == 2 ? NAN : -0x1p-1074, 3.0};
        for (int64_t i = 0; i < 2; i++) { /* entries (0, 2) and (1, 2) */
            int64_t e = i * cols - i * (i - 1) / 2 + (2 - i);
            s.shift[e] = special[(seed + (uint64_t)i) % 8];
        }
        for (int64_t k = 3; k < cols; k++) s.shift[2 * cols - 1 + (k - 2)] = special[(uint64_t)k % 8]; /* row 2 */
    }
    return s;
}

static void free_dense_case(dense_case *s) {
    free(s->w);
    free(s->shift);
    test_problem_free(&s->p);
}

typedef struct step_out {
    double *shift, *values, *difference, norm, rest;
    int32_t *indices;
    int64_t count;
} step_out;

static step_out run_dense(const dense_case *s, const fednl_compressor *c, double alpha, int remaining, int with_indices) {
    step_out o;
    int64_t total = s->total, work_len = fednl_pattern_step_workspace(c, s->p.cols, total);
    uint64_t *work = malloc((size_t)(work_len + 1) * sizeof(uint64_t));
    o.shift = malloc((size_t)total * sizeof(double));
    o.values = malloc((size_t)total * sizeof(double));
    o.difference = malloc((size_t)total * sizeof(double));
    o.indices = malloc((size_t)total * sizeof(int32_t));
    memcpy(o.shift, s->shift, (size_t)total * sizeof(double));
    memset(o.difference, 0, (size_t)total * sizeof(double));
    o.norm = o.rest = -1;
    o.count = -1;
    CHECK_STATUS(fednl_dense_shift_step(c, s->p.rows, s->p.cols, s->p.dense, s->w, lambda, o.shift, total, alpha, &o.norm,
                                        remaining ? &o.rest : NULL, o.difference, total, with_indices ? o.indices : NULL,
                                        total, o.values, total, &o.count, work, work_len),
                 FEDNL_OK);
    free(work);
    return o;
}

static void free_step_out(step_out *o) {
    free(o->shift);
    free(o->values);
    free(o->difference);
    free(o->indices);
}

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* The fused step on the rows equals fednl_pattern_shift_step (dense plan) on fednl_dense_hessian's Hessian: the same S
 * bit for bit (natural: the same draws), the same indices; |M| and |M - alpha S| and the shift within rounding (the
 * fused step sums its squares in eight lanes and moves the shift by one fma). */
void test_dense_step_matches_pattern_step(void) {
    for (int kind = 0; kind <= 6; kind++)
        for (int remaining = 0; remaining < 2; remaining++) {
            dense_case s = make_dense_case(12, 37, 1000 + (uint64_t)kind, 0);
            int64_t cols = s.p.cols, total = s.total;
            fednl_compressor c = {kind, 1, 3 * cols, 555 + (uint64_t)kind, kind == 6 ? 3 : 0};
            int dense = kind == 0 || kind == 5;
            double alpha = 0.625;
            step_out o = run_dense(&s, &c, alpha, remaining, 1);

            /* the plan's step on the same Hessian */
            fednl_hessian_plan_info info;
            CHECK_STATUS(fednl_hessian_plan_measure(s.p.rows, cols, s.p.row_ptr, s.p.col_idx, s.p.values,
                                                    FEDNL_HESSIAN_PLAN_DENSE, &info, NULL, 0),
                         FEDNL_OK);
            uint64_t *plan = malloc((size_t)info.words * sizeof(uint64_t));
            CHECK_STATUS(fednl_hessian_plan_build(s.p.rows, cols, s.p.row_ptr, s.p.col_idx, s.p.values, FEDNL_HESSIAN_PLAN_DENSE,
                                                  plan, info.words, NULL, 0),
                         FEDNL_OK);
            double *h = hessian_of(&s.p, s.w), *shift = malloc((size_t)total * sizeof(double));
            double *values = malloc((size_t)total * sizeof(double)), norm = -1, rest = -1;
            int32_t *indices = malloc((size_t)total * sizeof(int32_t));
            int64_t count = -1, work_len = fednl_pattern_step_workspace(&c, cols, total);
            uint64_t *work = malloc((size_t)(work_len + 1) * sizeof(uint64_t));
            memcpy(shift, s.shift, (size_t)total * sizeof(double));
            double *m = malloc((size_t)total * sizeof(double));
            for (int64_t e = 0; e < total; e++) m[e] = h[e] - s.shift[e];
            CHECK_STATUS(fednl_pattern_shift_step(&c, plan, info.words, h, total, shift, total, alpha, &norm,
                                                  remaining ? &rest : NULL, indices, total, values, total, &count, work,
                                                  work_len),
                         FEDNL_OK);
            CHECK(o.count == count);
            CHECK(same_bits(o.values, values, (size_t)count * sizeof(double)));
            CHECK(same_bits(o.indices, indices, (size_t)count * sizeof(int32_t)));
            CHECK_CLOSE(o.norm, norm, 1e-13 * norm);
            if (remaining) CHECK_CLOSE(o.rest, rest, 1e-13 * norm);
            else CHECK(o.rest == -1);
            for (int64_t e = 0; e < total; e++) CHECK_CLOSE(o.shift[e], shift[e], 1e-15 * (1.0 + fabs(shift[e])));
            /* the sparse kinds leave M (or M - alpha S) in difference, as the plan's step does */
            if (!dense) CHECK(same_bits(o.difference, h, (size_t)total * sizeof(double)));
            else if (remaining) {
                /* |M - alpha S| from its definition */
                double sum = 0;
                for (int64_t i = 0, e = 0; i < cols; i++)
                    for (int64_t k = i; k < cols; k++, e++) {
                        double r = m[e] - alpha * o.values[e];
                        sum += (k == i ? 1.0 : 2.0) * r * r;
                    }
                CHECK_CLOSE(o.rest, sqrt(sum), 1e-13 * sqrt(sum));
            }
            free(m);
            free(plan);
            free(h);
            free(shift);
            free(values);
            free(indices);
            free(work);
            free_step_out(&o);
            free_dense_case(&s);
        }
}

/* Every kind, shapes with every strip, panel and tile remainder (dim mod 4, mod 12 and mod 24 for the AVX-512 tiles,
 * rows 0 and 1, and the row-by-row strips of clients past the panels' bounds: more than 1024 rows, dim above 1020), M
 * zero, subnormal, a power of two and not finite at chosen entries: the active variant (AVX2 under the reference)
 * gives the reference's bits in every output. */
void test_dense_step_variants_agree_bitwise(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    if (!info.avx2_available) {
        printf("SKIPPED: no AVX2 on this CPU or build\n");
        return;
    }
    int32_t before = info.active_variant;
    int32_t variant = before == FEDNL_KERNEL_REFERENCE ? FEDNL_KERNEL_AVX2 : before;
    const int64_t shapes[][2] = {{0, 4}, {1, 1}, {2, 3}, {12, 36}, {5, 67}, {12, 100}, {33, 45}, {0, 7}, {1, 30},
                                 {77, 69}, {3, 5}, {6, 6}, {2, 11}, {9, 13}, {4, 25}, {300, 14}, {2, 1023}, {1030, 5},
                                 {3, 40}, {12, 500}};
    for (size_t n = 0; n < sizeof shapes / sizeof shapes[0]; n++)
        for (int kind = 0; kind <= 6; kind++) {
            dense_case s = make_dense_case(shapes[n][0], shapes[n][1], 2000 + 10 * n + (uint64_t)kind, 1 + (kind & 1));
            int64_t total = s.total;
            fednl_compressor c = {kind, 0, 2 * shapes[n][1], 77 + n, kind == 6 ? 1 : 0};
            for (int remaining = 0; remaining < 2; remaining++) {
                CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_REFERENCE), FEDNL_OK);
                step_out a = run_dense(&s, &c, 0.75, remaining, 1);
                double *ha = hessian_of(&s.p, s.w);
                CHECK_STATUS(fednl_set_kernel_variant(variant), FEDNL_OK);
                step_out v = run_dense(&s, &c, 0.75, remaining, 1);
                double *hv = hessian_of(&s.p, s.w);
                CHECK(a.count == v.count);
                CHECK(same_bits(a.values, v.values, (size_t)a.count * sizeof(double)));
                CHECK(same_bits(a.indices, v.indices, (size_t)a.count * sizeof(int32_t)));
                CHECK(same_bits(a.shift, v.shift, (size_t)total * sizeof(double)));
                CHECK(same_bits(a.difference, v.difference, (size_t)total * sizeof(double)));
                CHECK(same_bits(&a.norm, &v.norm, sizeof(double)) && same_bits(&a.rest, &v.rest, sizeof(double)));
                if ((kind & 1) == 0 && shapes[n][1] > 2) CHECK(isfinite(a.norm) && (!remaining || isfinite(a.rest)));
                CHECK(same_bits(ha, hv, (size_t)total * sizeof(double)));
                free(ha);
                free(hv);
                free_step_out(&a);
                free_step_out(&v);
            }
            free_dense_case(&s);
        }
    CHECK_STATUS(fednl_set_kernel_variant(before), FEDNL_OK);
}

void test_dense_step_rejects_bad_arguments(void) {
    double a[6] = {1, 2, 3, 4, 5, 6}, w[2] = {0.1, 0.2}, shift[6] = {0}, values[6], difference[6], norm = -1;
    int64_t count = -1;
    int32_t indices[6];
    uint64_t work[8];
    fednl_compressor natural = {5, 0, 0, 1, 0}, randk = {3, 0, 2, 1, 0};
    CHECK_FAILURE(fednl_dense_hessian(2, 0, a, w, lambda, values), FEDNL_ERR_INVALID_ARGUMENT,
                  "dense_hessian: need 0 <= rows < 2^31 and 1 <= cols <= 65535, got 2 x 0");
    CHECK_FAILURE(fednl_dense_hessian(2, 3, a, NULL, lambda, values), FEDNL_ERR_INVALID_ARGUMENT,
                  "dense_hessian: a or weights is null");
    CHECK_FAILURE(fednl_dense_hessian(2, 3, a, w, -1.0, values), FEDNL_ERR_INVALID_ARGUMENT,
                  "dense_hessian: lambda must be finite and >= 0");
    CHECK_FAILURE(fednl_dense_shift_step(&natural, 2, 3, a, w, lambda, shift, 5, 0.5, &norm, NULL, NULL, 0, NULL, 0, values,
                                         6, &count, NULL, 0),
                  FEDNL_ERR_INVALID_ARGUMENT, "dense_shift_step: shift_length is 5, need at least 6");
    CHECK_FAILURE(fednl_dense_shift_step(&natural, 2, 3, a, w, lambda, shift, 6, 0.5, &norm, NULL, NULL, 0, NULL, 0, values,
                                         5, &count, NULL, 0),
                  FEDNL_ERR_INVALID_ARGUMENT, "dense_shift_step: values_capacity is 5, need at least 6");
    CHECK_FAILURE(fednl_dense_shift_step(&natural, 2, 3, a, w, lambda, shift, 6, NAN, &norm, NULL, NULL, 0, NULL, 0, values,
                                         6, &count, NULL, 0),
                  FEDNL_ERR_INVALID_ARGUMENT, "dense_shift_step: alpha is not finite");
    /* the sparse kinds need difference (D entries) and their workspace */
    CHECK_FAILURE(fednl_dense_shift_step(&randk, 2, 3, a, w, lambda, shift, 6, 0.5, &norm, NULL, NULL, 6, indices, 2,
                                         values, 2, &count, work, 8),
                  FEDNL_ERR_INVALID_ARGUMENT, "dense_shift_step: a required buffer is null");
    CHECK_FAILURE(fednl_dense_shift_step(&randk, 2, 3, a, w, lambda, shift, 6, 0.5, &norm, NULL, difference, 5, indices, 2,
                                         values, 2, &count, work, 8),
                  FEDNL_ERR_INVALID_ARGUMENT, "dense_shift_step: difference_length is 5, need at least 6");
    CHECK_FAILURE(fednl_dense_shift_step(&randk, 2, 3, a, w, lambda, shift, 6, 0.5, &norm, NULL, difference, 6, indices, 2,
                                         values, 2, &count, work, 0),
                  FEDNL_ERR_WORKSPACE_TOO_SMALL, "dense_shift_step: workspace of 0 words, need 1");
    CHECK(norm == -1 && count == -1 && shift[0] == 0.0);
    CHECK_STATUS(fednl_dense_shift_step(&natural, 2, 3, a, w, lambda, shift, 6, 0.5, &norm, NULL, NULL, 0, NULL, 0, values, 6,
                                        &count, NULL, 0),
                 FEDNL_OK);
    CHECK(count == 6 && norm > 0);
}
