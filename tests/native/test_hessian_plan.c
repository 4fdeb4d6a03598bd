/* test_hessian_plan.c - Hessian plans and the pattern shift step, against the plain reference oracle and against
 * the whole-matrix compressors. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void test_plan_hessian_matches_reference(void);
void test_plan_hessian_variants_agree_bitwise(void);
void test_plan_dense_kind_is_every_entry(void);
void test_pattern_step_matches_compress(void);
void test_pattern_step_remaining_norm(void);
void test_plan_rejects_bad_arguments(void);
void test_pattern_multiply_matches_dense(void);

static const double lambda = 1e-3;

typedef struct built_plan {
    fednl_hessian_plan_info info;
    uint64_t *words;
    int32_t *pattern;
} built_plan;

static built_plan build(const test_problem *p, int32_t kind) {
    built_plan b;
    int64_t work_len = fednl_hessian_plan_workspace(p->rows, p->cols);
    uint64_t *work = malloc((size_t)work_len * sizeof *work);
    CHECK_STATUS(fednl_hessian_plan_measure(p->rows, p->cols, p->row_ptr, p->col_idx, p->values, kind, &b.info, work,
                                            work_len),
                 FEDNL_OK);
    b.words = malloc((size_t)b.info.words * sizeof *b.words);
    b.pattern = malloc((size_t)b.info.pattern_length * sizeof *b.pattern);
    CHECK_STATUS(fednl_hessian_plan_build(p->rows, p->cols, p->row_ptr, p->col_idx, p->values, kind, b.words,
                                          b.info.words, work, work_len),
                 FEDNL_OK);
    CHECK_STATUS(fednl_hessian_plan_pattern(b.words, b.info.words, b.pattern, b.info.pattern_length), FEDNL_OK);
    free(work);
    return b;
}

static void free_plan(built_plan *b) {
    free(b->words);
    free(b->pattern);
}

/* The sparse plan's Hessian at p->x over the pattern. */
static double *plan_hessian_at(const test_problem *p, const built_plan *b) {
    double *margins = malloc((size_t)(p->rows + 1) * sizeof(double)), *weights = malloc((size_t)(p->rows + 1) * sizeof(double));
    double *h = malloc((size_t)b->info.pattern_length * sizeof(double)), f;
    CHECK_STATUS(fednl_logreg_sparse(p->rows, p->cols, p->row_ptr, p->col_idx, p->values, p->labels, p->x, lambda, margins,
                                     &f, NULL, NULL, weights),
                 FEDNL_OK);
    /* the oracle's row weights are s (1 - s) / m */
    for (int64_t j = 0; j < p->rows; j++) {
        double s = 1.0 / (1.0 + exp(margins[j]));
        CHECK_CLOSE(weights[j], s * (1.0 - s) / (double)p->rows, 1e-15 / (double)p->rows);
    }
    CHECK_STATUS(fednl_plan_hessian(b->words, b->info.words, weights, lambda, NULL, h), FEDNL_OK);
    free(margins);
    free(weights);
    return h;
}

/* Every value replaced by c: 0/c data, whose row products agree per entry. */
static void make_constant_valued(test_problem *p, double c) {
    for (int64_t k = 0; k < p->row_ptr[p->rows]; k++) p->values[k] = c;
    for (int64_t j = 0; j < p->rows; j++)
        for (int64_t i = 0; i < p->cols; i++)
            if (p->dense[j * p->cols + i] != 0.0) p->dense[j * p->cols + i] = c;
}

static void check_against_reference(int64_t rows, int64_t cols, double density, uint64_t seed, int constant) {
    test_problem p = test_problem_make(rows, cols, density, seed);
    if (constant) make_constant_valued(&p, 0.25);
    built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
    double *h = plan_hessian_at(&p, &b);
    double *ref = malloc((size_t)(cols * cols) * sizeof(double)), *grad = malloc((size_t)cols * sizeof(double)), f;
    test_reference_oracle(&p, lambda, &f, grad, ref);

    int64_t pairs = 0;
    for (int64_t j = 0; j < rows; j++) {
        int64_t nnz = p.row_ptr[j + 1] - p.row_ptr[j];
        pairs += nnz * (nnz + 1) / 2;
    }
    CHECK(b.info.pairs == pairs);
    if (constant) CHECK(b.info.valued_entries == 0);
    /* the pattern ascends and holds every diagonal entry and every non-zero of the reference */
    for (int64_t t = 1; t < b.info.pattern_length; t++) CHECK(b.pattern[t] > b.pattern[t - 1]);
    int64_t t = 0;
    for (int64_t r = 0, e = 0; r < cols; r++)
        for (int64_t c = r; c < cols; c++, e++) {
            double expected = ref[r * cols + c];
            if (t < b.info.pattern_length && b.pattern[t] == e) {
                CHECK_CLOSE(h[t], expected, 1e-15 + 1e-13 * fabs(expected));
                t++;
            } else {
                CHECK(r != c);
                CHECK(expected == 0.0);
            }
        }
    CHECK(t == b.info.pattern_length);
    free(h);
    free(ref);
    free(grad);
    free_plan(&b);
    test_problem_free(&p);
}

void test_plan_hessian_matches_reference(void) {
    const int64_t dims[] = {1, 2, 7, 40, 97};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        check_against_reference(60, dims[k], 0.05, 300 + k, 0);
        check_against_reference(60, dims[k], 0.3, 310 + k, 0);
        check_against_reference(13, dims[k], 0.9, 320 + k, 0);
        check_against_reference(45, dims[k], 0.2, 330 + k, 1);
    }
    check_against_reference(0, 5, 0.5, 340, 0);     /* a client with no rows: lambda I */
    check_against_reference(70000, 3, 0.5, 341, 0); /* 65535 rows or more: 32-bit row indices */
    check_against_reference(70000, 4, 0.3, 342, 1);
}

void test_plan_hessian_variants_agree_bitwise(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    if (!info.avx2_available) {
        printf("SKIPPED: no AVX2 on this CPU or build\n");
        return;
    }
    int32_t before = info.active_variant;
    for (int constant = 0; constant < 2; constant++) {
        test_problem p = test_problem_make(200, 61, 0.15, 400 + constant);
        if (constant) make_constant_valued(&p, 1.0);
        built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
        /* the same weights for both (the oracle's dot products differ in their last bits between variants) */
        double margins[200], weights[201], f;
        double *a = malloc((size_t)b.info.pattern_length * sizeof(double)), *v = malloc((size_t)b.info.pattern_length * sizeof(double));
        CHECK_STATUS(fednl_logreg_sparse(p.rows, p.cols, p.row_ptr, p.col_idx, p.values, p.labels, p.x, lambda, margins, &f,
                                         NULL, NULL, weights),
                     FEDNL_OK);
        CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_REFERENCE), FEDNL_OK);
        CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, weights, lambda, NULL, a), FEDNL_OK);
        CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_AVX2), FEDNL_OK);
        CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, weights, lambda, NULL, v), FEDNL_OK);
        CHECK(memcmp(a, v, (size_t)b.info.pattern_length * sizeof(double)) == 0);
        free(a);
        free(v);
        free_plan(&b);
        test_problem_free(&p);
    }
    CHECK_STATUS(fednl_set_kernel_variant(before), FEDNL_OK);
}

void test_plan_dense_kind_is_every_entry(void) {
    test_problem p = test_problem_make(20, 9, 0.5, 500);
    built_plan b = build(&p, FEDNL_HESSIAN_PLAN_DENSE);
    int64_t total = 9 * 10 / 2;
    CHECK(b.info.pattern_length == total);
    for (int64_t t = 0; t < total; t++) CHECK(b.pattern[t] == t);
    double *dense = malloc((size_t)total * sizeof(double)), *h = malloc((size_t)total * sizeof(double));
    for (int64_t e = 0; e < total; e++) dense[e] = 0.5 * (double)e - 3.0;
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, NULL, lambda, dense, h), FEDNL_OK);
    CHECK(memcmp(dense, h, (size_t)total * sizeof(double)) == 0);
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, NULL, lambda, NULL, h), FEDNL_ERR_INVALID_ARGUMENT);
    free(dense);
    free(h);
    free_plan(&b);
    test_problem_free(&p);
}

/* A sparse problem's plan, a difference on its pattern (Hessian) and a shift on the pattern. */
typedef struct step_case {
    test_problem p;
    built_plan b;
    double *hessian, *shift;
    int64_t dim, total, n;
} step_case;

static step_case make_step_case(uint64_t seed) {
    step_case s;
    s.p = test_problem_make(30, 24, 0.12, seed);
    s.b = build(&s.p, FEDNL_HESSIAN_PLAN_SPARSE);
    s.dim = 24;
    s.total = 24 * 25 / 2;
    s.n = s.b.info.pattern_length;
    s.hessian = plan_hessian_at(&s.p, &s.b);
    s.shift = malloc((size_t)s.n * sizeof(double));
    test_rng rng = {seed + 1};
    for (int64_t t = 0; t < s.n; t++) s.shift[t] = 0.01 * test_normal(&rng);
    return s;
}

static void free_step_case(step_case *s) {
    free(s->hessian);
    free(s->shift);
    free_plan(&s->b);
    test_problem_free(&s->p);
}

static void expand_pattern(const step_case *s, const double *v, double *packed) {
    memset(packed, 0, (size_t)s->total * sizeof(double));
    for (int64_t t = 0; t < s->n; t++) packed[s->b.pattern[t]] = v[t];
}

static double full_norm(int64_t dim, const double *packed) {
    double sum = 0;
    for (int64_t i = 0, e = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++, e++) sum += (i == j ? 1.0 : 2.0) * packed[e] * packed[e];
    return sqrt(sum);
}

void test_pattern_step_matches_compress(void) {
    for (int kind = FEDNL_COMPRESSOR_IDENTICAL; kind <= FEDNL_COMPRESSOR_NATURAL; kind++) {
        step_case s = make_step_case(600 + (uint64_t)kind);
        fednl_compressor c = {kind, 0, 2 * s.dim, 4242};
        int dense = kind == FEDNL_COMPRESSOR_IDENTICAL || kind == FEDNL_COMPRESSOR_NATURAL;
        double alpha = 0.375;
        /* the whole-matrix compressor on M expanded to all D entries */
        double *m = malloc((size_t)s.n * sizeof(double)), *full_m = malloc((size_t)s.total * sizeof(double));
        for (int64_t t = 0; t < s.n; t++) m[t] = s.hessian[t] - s.shift[t];
        expand_pattern(&s, m, full_m);
        int64_t cap = fednl_compress_capacity(&c, s.dim), wlen = fednl_compress_workspace(&c, s.dim), count_full = 0;
        int32_t *idx_full = malloc((size_t)cap * sizeof(int32_t));
        double *val_full = malloc((size_t)cap * sizeof(double));
        uint64_t *work_full = malloc((size_t)(wlen + 1) * sizeof(uint64_t));
        CHECK_STATUS(fednl_compress(&c, s.dim, full_m, idx_full, val_full, &count_full, work_full, wlen), FEDNL_OK);

        int64_t plen = fednl_pattern_step_workspace(&c, s.dim, s.n), count = -1;
        uint64_t *work = malloc((size_t)(plen + 1) * sizeof(uint64_t));
        int32_t *idx = malloc((size_t)s.total * sizeof(int32_t));
        double *val = malloc((size_t)s.total * sizeof(double)), norm = -1;
        double *diff = malloc((size_t)s.n * sizeof(double)), *shift = malloc((size_t)s.n * sizeof(double));
        memcpy(diff, s.hessian, (size_t)s.n * sizeof(double));
        memcpy(shift, s.shift, (size_t)s.n * sizeof(double));
        CHECK_STATUS(fednl_pattern_shift_step(&c, s.b.words, s.b.info.words, diff, shift, alpha, &norm, NULL, idx, val,
                                              &count, work, plen),
                     FEDNL_OK);
        CHECK(memcmp(diff, m, (size_t)s.n * sizeof(double)) == 0);
        CHECK_CLOSE(norm, full_norm(s.dim, full_m), 1e-14 * full_norm(s.dim, full_m));

        /* the same compressed matrix: S expanded from both outputs agrees bit for bit */
        double *s_full = calloc((size_t)s.total, sizeof(double)), *s_pattern = calloc((size_t)s.total, sizeof(double));
        for (int64_t t = 0; t < count_full; t++) s_full[dense ? t : idx_full[t]] = val_full[t];
        for (int64_t t = 0; t < count; t++) s_pattern[idx[t]] = val[t];
        CHECK(memcmp(s_full, s_pattern, (size_t)s.total * sizeof(double)) == 0);
        if (dense) {
            CHECK(count == s.n);
            for (int64_t t = 0; t < count; t++) CHECK(idx[t] == s.b.pattern[t]);
        } else if (kind == FEDNL_COMPRESSOR_RANDK || kind == FEDNL_COMPRESSOR_RANDSEQK) {
            /* the indices a receiver regenerates from the seed */
            CHECK(count == count_full && memcmp(idx, idx_full, (size_t)count * sizeof(int32_t)) == 0);
        }
        for (int64_t t = 1; t < count; t++) CHECK(idx[t] > idx[t - 1]);
        /* shift += alpha S on the pattern */
        for (int64_t t = 0; t < s.n; t++) CHECK(shift[t] == s.shift[t] + alpha * s_pattern[s.b.pattern[t]]);
        free(m);
        free(full_m);
        free(idx_full);
        free(val_full);
        free(work_full);
        free(work);
        free(idx);
        free(val);
        free(diff);
        free(shift);
        free(s_full);
        free(s_pattern);
        free_step_case(&s);
    }
}

void test_pattern_step_remaining_norm(void) {
    for (int kind = FEDNL_COMPRESSOR_IDENTICAL; kind <= FEDNL_COMPRESSOR_NATURAL; kind++) {
        step_case s = make_step_case(700 + (uint64_t)kind);
        fednl_compressor c = {kind, 0, 3 * s.dim, 99};
        int64_t plen = fednl_pattern_step_workspace(&c, s.dim, s.n), count = 0;
        uint64_t *work = malloc((size_t)(plen + 1) * sizeof(uint64_t));
        int32_t *idx = malloc((size_t)s.total * sizeof(int32_t));
        double *val = malloc((size_t)s.total * sizeof(double)), norm, rest = -1, alpha = 0.5;
        double *shift0 = malloc((size_t)s.n * sizeof(double));
        memcpy(shift0, s.shift, (size_t)s.n * sizeof(double));
        CHECK_STATUS(fednl_pattern_shift_step(&c, s.b.words, s.b.info.words, s.hessian, s.shift, alpha, &norm, &rest, idx,
                                              val, &count, work, plen),
                     FEDNL_OK);
        /* after the step the shift is closer: |H - shift_new| is the remaining norm */
        double *h = plan_hessian_at(&s.p, &s.b), *left = malloc((size_t)s.n * sizeof(double));
        double *packed = malloc((size_t)s.total * sizeof(double));
        for (int64_t t = 0; t < s.n; t++) left[t] = h[t] - s.shift[t];
        expand_pattern(&s, left, packed);
        CHECK_CLOSE(rest, full_norm(s.dim, packed), 1e-13 * (1 + norm));
        if (kind == FEDNL_COMPRESSOR_IDENTICAL) CHECK_CLOSE(rest, 0.5 * norm, 1e-13 * norm);
        free(work);
        free(idx);
        free(val);
        free(shift0);
        free(h);
        free(left);
        free(packed);
        free_step_case(&s);
    }
}

void test_plan_rejects_bad_arguments(void) {
    test_problem p = test_problem_make(10, 6, 0.4, 800);
    built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
    fednl_hessian_plan_info info;
    uint64_t small[4];
    CHECK_STATUS(fednl_hessian_plan_measure(10, 6, p.row_ptr, p.col_idx, p.values, FEDNL_HESSIAN_PLAN_SPARSE, &info, small, 4),
                 FEDNL_ERR_WORKSPACE_TOO_SMALL);
    CHECK_STATUS(fednl_hessian_plan_measure(10, 6, p.row_ptr, p.col_idx, p.values, 7, &info, small, 4),
                 FEDNL_ERR_INVALID_ARGUMENT);
    int64_t work_len = fednl_hessian_plan_workspace(10, 6);
    uint64_t *work = malloc((size_t)work_len * sizeof(uint64_t)), *plan = malloc((size_t)b.info.words * sizeof(uint64_t));
    CHECK_STATUS(fednl_hessian_plan_build(10, 6, p.row_ptr, p.col_idx, p.values, FEDNL_HESSIAN_PLAN_SPARSE, plan,
                                          b.info.words - 1, work, work_len),
                 FEDNL_ERR_WORKSPACE_TOO_SMALL);
    /* a buffer that is not a plan */
    double h[64], weights[11] = {0};
    memset(plan, 0, (size_t)b.info.words * sizeof(uint64_t));
    CHECK_STATUS(fednl_plan_hessian(plan, b.info.words, weights, lambda, NULL, h), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_plan_hessian(b.words, 2, weights, lambda, NULL, h), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, weights, -1.0, NULL, h), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, NULL, lambda, NULL, h), FEDNL_ERR_INVALID_ARGUMENT);
    int32_t pattern[2];
    CHECK_STATUS(fednl_hessian_plan_pattern(b.words, b.info.words, pattern, 2), FEDNL_ERR_INVALID_ARGUMENT);
    fednl_compressor c = {FEDNL_COMPRESSOR_TOPK, 0, 3, 1};
    double shift[64] = {0}, values[64], norm;
    int32_t indices[64];
    int64_t count;
    CHECK_STATUS(fednl_pattern_shift_step(&c, b.words, b.info.words, h, shift, 1.0, &norm, NULL, indices, values, &count,
                                          work, 1),
                 FEDNL_ERR_WORKSPACE_TOO_SMALL);
    c.k = 0;
    CHECK_STATUS(fednl_pattern_shift_step(&c, b.words, b.info.words, h, shift, 1.0, &norm, NULL, indices, values, &count,
                                          work, work_len),
                 FEDNL_ERR_INVALID_ARGUMENT);
    free(work);
    free(plan);
    free_plan(&b);
    test_problem_free(&p);
}

void test_pattern_multiply_matches_dense(void) {
    for (int kind = FEDNL_HESSIAN_PLAN_SPARSE; kind <= FEDNL_HESSIAN_PLAN_DENSE; kind++) {
        test_problem p = test_problem_make(25, 17, 0.15, 900 + (uint64_t)kind);
        built_plan b = build(&p, kind);
        int64_t dim = 17, total = dim * (dim + 1) / 2, n = b.info.pattern_length;
        double *values = malloc((size_t)n * sizeof(double)), *packed = calloc((size_t)total, sizeof(double));
        double x[17], y[17];
        test_rng rng = {901};
        for (int64_t t = 0; t < n; t++) packed[b.pattern[t]] = values[t] = test_normal(&rng);
        for (int64_t i = 0; i < dim; i++) x[i] = test_normal(&rng);
        CHECK_STATUS(fednl_pattern_multiply(b.words, b.info.words, values, 0.25, x, y), FEDNL_OK);
        for (int64_t i = 0; i < dim; i++) {
            double expected = 0.25 * x[i];
            for (int64_t j = 0; j < dim; j++) expected += test_packed_get(dim, packed, i, j) * x[j];
            CHECK_CLOSE(y[i], expected, 1e-13 * (1 + fabs(expected)));
        }
        CHECK_STATUS(fednl_pattern_multiply(b.words, b.info.words, NULL, 0.25, x, y), FEDNL_ERR_INVALID_ARGUMENT);
        free(values);
        free(packed);
        free_plan(&b);
        test_problem_free(&p);
    }
}
