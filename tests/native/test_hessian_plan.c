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
void test_plan_hessian_refuses_short_buffers(void);
void test_pattern_multiply_refuses_short_buffers(void);
void test_pattern_step_refuses_short_buffers(void);
void test_pattern_step_selection_variants_agree_bitwise(void);
void test_pattern_step_norm_avx512_matches_avx2(void);
void test_pattern_step_topk_matches_plain_selection(void);

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
    CHECK_STATUS(fednl_plan_hessian(b->words, b->info.words, weights, p->rows + 1, lambda, NULL, 0, h,
                                    b->info.pattern_length), FEDNL_OK);
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

/* Every variant's plan gathers give the reference's bits: uniform and valued groups, lists of odd and even lengths,
 * 16-bit and 32-bit row indices. */
void test_plan_hessian_variants_agree_bitwise(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    int32_t variants[4];
    int count = test_variants(variants);
    if (count < 2) {
        printf("SKIPPED: only the reference variant runs on this CPU or build\n");
        return;
    }
    const int64_t rows[] = {200, 200, 70000};
    for (int shape = 0; shape < 3; shape++) {
        test_problem p = test_problem_make(rows[shape], shape == 2 ? 6 : 61, shape == 2 ? 0.4 : 0.15, 400 + shape);
        if (shape == 1) make_constant_valued(&p, 1.0);
        built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
        /* the same weights for all (the oracle's dot products differ in their last bits between variants) */
        double *margins = malloc((size_t)p.rows * sizeof(double)), *weights = malloc((size_t)(p.rows + 1) * sizeof(double)), f;
        double *a = malloc((size_t)b.info.pattern_length * sizeof(double)), *v = malloc((size_t)b.info.pattern_length * sizeof(double));
        CHECK_STATUS(fednl_logreg_sparse(p.rows, p.cols, p.row_ptr, p.col_idx, p.values, p.labels, p.x, lambda, margins, &f,
                                         NULL, NULL, weights),
                     FEDNL_OK);
        CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_REFERENCE), FEDNL_OK);
        CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, weights, p.rows + 1, lambda, NULL, 0, a, b.info.pattern_length),
                     FEDNL_OK);
        for (int k = 1; k < count; k++) {
            memset(v, 0xFF, (size_t)b.info.pattern_length * sizeof(double));
            CHECK_STATUS(fednl_set_kernel_variant(variants[k]), FEDNL_OK);
            CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, weights, p.rows + 1, lambda, NULL, 0, v, b.info.pattern_length),
                         FEDNL_OK);
            CHECK(memcmp(a, v, (size_t)b.info.pattern_length * sizeof(double)) == 0);
        }
        free(margins);
        free(weights);
        free(a);
        free(v);
        free_plan(&b);
        test_problem_free(&p);
    }
    CHECK_STATUS(fednl_set_kernel_variant(info.active_variant), FEDNL_OK);
}

void test_plan_dense_kind_is_every_entry(void) {
    test_problem p = test_problem_make(20, 9, 0.5, 500);
    built_plan b = build(&p, FEDNL_HESSIAN_PLAN_DENSE);
    int64_t total = 9 * 10 / 2;
    CHECK(b.info.pattern_length == total);
    for (int64_t t = 0; t < total; t++) CHECK(b.pattern[t] == t);
    double *dense = malloc((size_t)total * sizeof(double)), *h = malloc((size_t)total * sizeof(double));
    for (int64_t e = 0; e < total; e++) dense[e] = 0.5 * (double)e - 3.0;
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, NULL, 0, lambda, dense, total, h, total), FEDNL_OK);
    CHECK(memcmp(dense, h, (size_t)total * sizeof(double)) == 0);
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, NULL, 0, lambda, NULL, total, h, total),
                 FEDNL_ERR_INVALID_ARGUMENT);
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
    for (int kind = FEDNL_COMPRESSOR_IDENTICAL; kind <= FEDNL_COMPRESSOR_PERMK; kind++) {
        step_case s = make_step_case(600 + (uint64_t)kind);
        fednl_compressor c = {kind, 0, 2 * s.dim, 4242, 0};
        if (kind == FEDNL_COMPRESSOR_PERMK) { /* client 3 of 7: a block of D / 7 entries, most of them off the pattern */
            c.client = 3;
            c.clients = 7;
        }
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
        CHECK_STATUS(fednl_compress(&c, s.dim, full_m, idx_full, cap, val_full, cap, &count_full, work_full, wlen),
                     FEDNL_OK);

        int64_t plen = fednl_pattern_step_workspace(&c, s.dim, s.n), count = -1;
        uint64_t *work = malloc((size_t)(plen + 1) * sizeof(uint64_t));
        int32_t *idx = malloc((size_t)s.total * sizeof(int32_t));
        double *val = malloc((size_t)s.total * sizeof(double)), norm = -1;
        double *diff = malloc((size_t)s.n * sizeof(double)), *shift = malloc((size_t)s.n * sizeof(double));
        memcpy(diff, s.hessian, (size_t)s.n * sizeof(double));
        memcpy(shift, s.shift, (size_t)s.n * sizeof(double));
        CHECK_STATUS(fednl_pattern_shift_step(&c, s.b.words, s.b.info.words, diff, s.n, shift, s.n, alpha, &norm, NULL,
                                              idx, s.total, val, s.total, &count, work, plen),
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
        } else if (kind == FEDNL_COMPRESSOR_RANDK || kind == FEDNL_COMPRESSOR_RANDSEQK || kind == FEDNL_COMPRESSOR_PERMK) {
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
    for (int kind = FEDNL_COMPRESSOR_IDENTICAL; kind <= FEDNL_COMPRESSOR_PERMK; kind++) {
        step_case s = make_step_case(700 + (uint64_t)kind);
        fednl_compressor c = {kind, 0, 3 * s.dim, 99, kind == FEDNL_COMPRESSOR_PERMK ? 2 : 0}; /* permk: client 0 of 2 */
        int64_t plen = fednl_pattern_step_workspace(&c, s.dim, s.n), count = 0;
        uint64_t *work = malloc((size_t)(plen + 1) * sizeof(uint64_t));
        int32_t *idx = malloc((size_t)s.total * sizeof(int32_t));
        double *val = malloc((size_t)s.total * sizeof(double)), norm, rest = -1, alpha = 0.5;
        double *shift0 = malloc((size_t)s.n * sizeof(double));
        memcpy(shift0, s.shift, (size_t)s.n * sizeof(double));
        CHECK_STATUS(fednl_pattern_shift_step(&c, s.b.words, s.b.info.words, s.hessian, s.n, s.shift, s.n, alpha, &norm,
                                              &rest, idx, s.total, val, s.total, &count, work, plen),
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
    CHECK_STATUS(fednl_plan_hessian(plan, b.info.words, weights, 11, lambda, NULL, 0, h, 64), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_plan_hessian(b.words, 2, weights, 11, lambda, NULL, 0, h, 64), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, weights, 11, -1.0, NULL, 0, h, 64), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_plan_hessian(b.words, b.info.words, NULL, 11, lambda, NULL, 0, h, 64), FEDNL_ERR_INVALID_ARGUMENT);
    int32_t pattern[2];
    char expected[FEDNL_ERROR_CAPACITY];
    snprintf(expected, sizeof expected, "hessian_plan_pattern: pattern_length is 2, the plan has %lld entries",
             (long long)b.info.pattern_length);
    CHECK_FAILURE(fednl_hessian_plan_pattern(b.words, b.info.words, pattern, 2), FEDNL_ERR_INVALID_ARGUMENT, expected);
    fednl_compressor c = {FEDNL_COMPRESSOR_TOPK, 0, 3, 1, 0};
    double shift[64] = {0}, values[64], norm;
    int32_t indices[64];
    int64_t count;
    CHECK_STATUS(fednl_pattern_shift_step(&c, b.words, b.info.words, h, 64, shift, 64, 1.0, &norm, NULL, indices, 64,
                                          values, 64, &count, work, 1),
                 FEDNL_ERR_WORKSPACE_TOO_SMALL);
    c.k = 0;
    CHECK_STATUS(fednl_pattern_shift_step(&c, b.words, b.info.words, h, 64, shift, 64, 1.0, &norm, NULL, indices, 64,
                                          values, 64, &count, work, work_len),
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
        CHECK_STATUS(fednl_pattern_multiply(b.words, b.info.words, values, n, 0.25, x, 17, y, 17), FEDNL_OK);
        for (int64_t i = 0; i < dim; i++) {
            double expected = 0.25 * x[i];
            for (int64_t j = 0; j < dim; j++) expected += test_packed_get(dim, packed, i, j) * x[j];
            CHECK_CLOSE(y[i], expected, 1e-13 * (1 + fabs(expected)));
        }
        CHECK_STATUS(fednl_pattern_multiply(b.words, b.info.words, NULL, n, 0.25, x, 17, y, 17),
                     FEDNL_ERR_INVALID_ARGUMENT);
        free(values);
        free(packed);
        free_plan(&b);
        test_problem_free(&p);
    }
}

static void fill(int64_t n, double *v, double value) {
    for (int64_t t = 0; t < n; t++) v[t] = value;
}

/* A buffer one entry short of the plan's sizes is refused, naming the argument and both sizes, and nothing is
 * written (not even the weights' padding slot). */
void test_plan_hessian_refuses_short_buffers(void) {
    test_problem p = test_problem_make(10, 6, 0.4, 810);
    built_plan sparse = build(&p, FEDNL_HESSIAN_PLAN_SPARSE), dense = build(&p, FEDNL_HESSIAN_PLAN_DENSE);
    int64_t n = sparse.info.pattern_length, total = 21;
    double weights[11], h[21], packed[21];
    fill(11, weights, -7.0);
    fill(21, h, -7.0);
    fill(21, packed, 0.5);
    char expected[FEDNL_ERROR_CAPACITY];
    CHECK_FAILURE(fednl_plan_hessian(sparse.words, sparse.info.words, weights, 10, lambda, NULL, 0, h, n),
                  FEDNL_ERR_INVALID_ARGUMENT, "plan_hessian: weights_length is 10, need at least 11");
    snprintf(expected, sizeof expected, "plan_hessian: hessian_capacity is %lld, need at least %lld", (long long)(n - 1),
             (long long)n);
    CHECK_FAILURE(fednl_plan_hessian(sparse.words, sparse.info.words, weights, 11, lambda, NULL, 0, h, n - 1),
                  FEDNL_ERR_INVALID_ARGUMENT, expected);
    CHECK_FAILURE(fednl_plan_hessian(dense.words, dense.info.words, NULL, 0, lambda, packed, total - 1, h, total),
                  FEDNL_ERR_INVALID_ARGUMENT, "plan_hessian: dense_hessian_length is 20, need at least 21");
    CHECK_FAILURE(fednl_plan_hessian(dense.words, dense.info.words, NULL, 0, lambda, packed, total, h, total - 1),
                  FEDNL_ERR_INVALID_ARGUMENT, "plan_hessian: hessian_capacity is 20, need at least 21");
    CHECK(weights[10] == -7.0 && h[0] == -7.0 && h[20] == -7.0);
    CHECK_STATUS(fednl_plan_hessian(dense.words, dense.info.words, NULL, 0, lambda, packed, total, h, total), FEDNL_OK);
    CHECK(h[0] == 0.5 && h[20] == 0.5);
    free_plan(&sparse);
    free_plan(&dense);
    test_problem_free(&p);
}

/* values short of P, x or y short of cols: refused with both sizes named, y untouched. */
void test_pattern_multiply_refuses_short_buffers(void) {
    test_problem p = test_problem_make(10, 6, 0.4, 820);
    built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
    int64_t n = b.info.pattern_length;
    double values[21], x[6], y[6];
    fill(21, values, 1.0);
    fill(6, x, 1.0);
    fill(6, y, -7.0);
    char expected[FEDNL_ERROR_CAPACITY];
    snprintf(expected, sizeof expected, "pattern_multiply: values_length is %lld, need at least %lld", (long long)(n - 1),
             (long long)n);
    CHECK_FAILURE(fednl_pattern_multiply(b.words, b.info.words, values, n - 1, 0.0, x, 6, y, 6),
                  FEDNL_ERR_INVALID_ARGUMENT, expected);
    CHECK_FAILURE(fednl_pattern_multiply(b.words, b.info.words, values, n, 0.0, x, 5, y, 6), FEDNL_ERR_INVALID_ARGUMENT,
                  "pattern_multiply: x_length is 5, need at least 6");
    CHECK_FAILURE(fednl_pattern_multiply(b.words, b.info.words, values, n, 0.0, x, 6, y, 5), FEDNL_ERR_INVALID_ARGUMENT,
                  "pattern_multiply: y_capacity is 5, need at least 6");
    for (int i = 0; i < 6; i++) CHECK(y[i] == -7.0);
    free_plan(&b);
    test_problem_free(&p);
}

/* One pattern step with the given lengths, on copies of the case's Hessian and shift; returns the status and, when
 * it fails, checks that difference, shift and the outputs were left as they were. */
typedef struct step_lengths {
    int64_t difference, shift, indices, values;
} step_lengths;

static int32_t step_with(const step_case *s, const fednl_compressor *c, step_lengths len, int with_indices) {
    int64_t work_len = fednl_pattern_step_workspace(c, s->dim, s->n), count = -7;
    uint64_t *work = malloc((size_t)(work_len + 1) * sizeof(uint64_t));
    int32_t *idx = malloc((size_t)s->total * sizeof(int32_t));
    double *val = malloc((size_t)s->total * sizeof(double)), norm = -7.0;
    double *diff = malloc((size_t)s->n * sizeof(double)), *shift = malloc((size_t)s->n * sizeof(double));
    memcpy(diff, s->hessian, (size_t)s->n * sizeof(double));
    memcpy(shift, s->shift, (size_t)s->n * sizeof(double));
    idx[0] = -7;
    val[0] = -7.0;
    int32_t status = fednl_pattern_shift_step(c, s->b.words, s->b.info.words, diff, len.difference, shift, len.shift, 0.5,
                                              &norm, NULL, with_indices ? idx : NULL, len.indices, val, len.values,
                                              &count, work, work_len);
    if (status != FEDNL_OK) {
        CHECK(memcmp(diff, s->hessian, (size_t)s->n * sizeof(double)) == 0);
        CHECK(memcmp(shift, s->shift, (size_t)s->n * sizeof(double)) == 0);
        CHECK(count == -7 && norm == -7.0 && idx[0] == -7 && val[0] == -7.0);
    }
    free(work);
    free(idx);
    free(val);
    free(diff);
    free(shift);
    return status;
}

/* difference and shift short of P, outputs short of what the compressor writes (min(K, D) for the sparse kinds, P
 * for the dense ones, indices only when given): refused with both sizes named; the exact lengths are accepted. */
void test_pattern_step_refuses_short_buffers(void) {
    step_case s = make_step_case(850);
    int64_t n = s.n;
    fednl_compressor topk = {FEDNL_COMPRESSOR_TOPK, 0, 48, 3, 0}, randk = {FEDNL_COMPRESSOR_RANDK, 0, 1000, 3, 0};
    fednl_compressor identical = {FEDNL_COMPRESSOR_IDENTICAL, 0, 0, 3, 0};
    step_lengths full = {n, n, 48, 48};
    char expected[FEDNL_ERROR_CAPACITY];
    const char *format = "pattern_shift_step: %s is %lld, need at least %lld";
    step_lengths l = full;
    l.difference = n - 1;
    snprintf(expected, sizeof expected, format, "difference_length", (long long)(n - 1), (long long)n);
    CHECK_FAILURE(step_with(&s, &topk, l, 1), FEDNL_ERR_INVALID_ARGUMENT, expected);
    l = full;
    l.shift = n - 1;
    snprintf(expected, sizeof expected, format, "shift_length", (long long)(n - 1), (long long)n);
    CHECK_FAILURE(step_with(&s, &topk, l, 1), FEDNL_ERR_INVALID_ARGUMENT, expected);
    l = full;
    l.indices = 47;
    CHECK_FAILURE(step_with(&s, &topk, l, 1), FEDNL_ERR_INVALID_ARGUMENT,
                  "pattern_shift_step: indices_capacity is 47, need at least 48");
    l = full;
    l.values = 47;
    CHECK_FAILURE(step_with(&s, &topk, l, 1), FEDNL_ERR_INVALID_ARGUMENT,
                  "pattern_shift_step: values_capacity is 47, need at least 48");
    CHECK_STATUS(step_with(&s, &topk, full, 1), FEDNL_OK);
    /* K beyond D: the step writes D = 300 entries */
    step_lengths all = {n, n, 300, 300};
    l = all;
    l.values = 299;
    CHECK_FAILURE(step_with(&s, &randk, l, 1), FEDNL_ERR_INVALID_ARGUMENT,
                  "pattern_shift_step: values_capacity is 299, need at least 300");
    CHECK_STATUS(step_with(&s, &randk, all, 1), FEDNL_OK);
    /* a dense kind writes P values, and P indices when asked for them */
    step_lengths pattern = {n, n, n, n};
    l = pattern;
    l.values = n - 1;
    snprintf(expected, sizeof expected, format, "values_capacity", (long long)(n - 1), (long long)n);
    CHECK_FAILURE(step_with(&s, &identical, l, 0), FEDNL_ERR_INVALID_ARGUMENT, expected);
    l = pattern;
    l.indices = n - 1;
    snprintf(expected, sizeof expected, format, "indices_capacity", (long long)(n - 1), (long long)n);
    CHECK_FAILURE(step_with(&s, &identical, l, 1), FEDNL_ERR_INVALID_ARGUMENT, expected);
    CHECK_STATUS(step_with(&s, &identical, l, 0), FEDNL_OK);
    CHECK_STATUS(step_with(&s, &identical, pattern, 1), FEDNL_OK);
    /* permk, client 6 of 7: a block of ceil(300 / 7) = 43 entries at most; more clients than D = 300 entries refused */
    fednl_compressor permk = {FEDNL_COMPRESSOR_PERMK, 6, 0, 3, 7};
    step_lengths block = {n, n, 43, 43};
    l = block;
    l.values = 42;
    CHECK_FAILURE(step_with(&s, &permk, l, 1), FEDNL_ERR_INVALID_ARGUMENT,
                  "pattern_shift_step: values_capacity is 42, need at least 43");
    CHECK_STATUS(step_with(&s, &permk, block, 1), FEDNL_OK);
    permk.clients = 301;
    CHECK_FAILURE(step_with(&s, &permk, block, 1), FEDNL_ERR_INVALID_ARGUMENT,
                  "pattern_shift_step: permk splits the D = 300 packed entries among n = 301 clients and needs 1 <= n <= D");
    free_step_case(&s);
}

/* One pattern step with the given variant on copies of the inputs. */
typedef struct step_result {
    double *diff, *shift, *values, norm;
    int32_t *indices;
    int64_t count;
} step_result;

static step_result run_step(int32_t variant, const fednl_compressor *c, const built_plan *b, int64_t dim,
                            const double *hessian, const double *shift) {
    int64_t n = b->info.pattern_length, total = dim * (dim + 1) / 2, plen = fednl_pattern_step_workspace(c, dim, n);
    step_result r;
    r.diff = malloc((size_t)n * sizeof(double));
    r.shift = malloc((size_t)n * sizeof(double));
    r.values = malloc((size_t)total * sizeof(double));
    r.indices = malloc((size_t)total * sizeof(int32_t));
    uint64_t *work = malloc((size_t)plen * sizeof(uint64_t));
    memcpy(r.diff, hessian, (size_t)n * sizeof(double));
    memcpy(r.shift, shift, (size_t)n * sizeof(double));
    CHECK_STATUS(fednl_set_kernel_variant(variant), FEDNL_OK);
    CHECK_STATUS(fednl_pattern_shift_step(c, b->words, b->info.words, r.diff, n, r.shift, n, 0.625, &r.norm, NULL,
                                          r.indices, total, r.values, total, &r.count, work, plen),
                 FEDNL_OK);
    free(work);
    return r;
}

static void free_step_result(step_result *r) {
    free(r->diff);
    free(r->shift);
    free(r->values);
    free(r->indices);
}

/* TopK and TopLEK on the pattern (AVX2: M, keys and exponent counts fused in one pass, vectorised collection) give
 * the reference variant's selection bit for bit: the same positions in the same order, values and shift, on
 * random differences, on differences with many exact ties (zeros among them), and on keys that share one binade
 * (the mantissa passes do the selecting). The whole-matrix compressor's collection passes likewise. */
void test_pattern_step_selection_variants_agree_bitwise(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    int32_t variants[4];
    int count = test_variants(variants);
    if (count < 2) {
        printf("SKIPPED: only the reference variant runs on this CPU or build\n");
        return;
    }
    int32_t before = info.active_variant;
    test_problem p = test_problem_make(90, 57, 0.3, 811);
    built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
    int64_t dim = 57, total = dim * (dim + 1) / 2, n = b.info.pattern_length;
    double *hessian = plan_hessian_at(&p, &b), *shift = malloc((size_t)n * sizeof(double));
    CHECK(n > 600 && n < total); /* long enough for every pass, and a real pattern */
    for (int shape = 0; shape < 4; shape++) {
        test_rng rng = {900 + (uint64_t)shape};
        for (int64_t t = 0; t < n; t++) {
            double u = test_uniform(&rng);
            if (shape == 0) shift[t] = 0.01 * test_normal(&rng);
            else if (shape == 1) shift[t] = u < 0.3 ? hessian[t] : hessian[t] - 0.25 * (double)(int)(4 * u); /* ties */
            else if (shape == 2) shift[t] = hessian[t] - (1.0 + u); /* |M| in about [1, 2) */
            else shift[t] = t % 37 == 3 ? -INFINITY : t % 41 == 5 ? NAN : 0.01 * test_normal(&rng); /* keys that do
                                                                              not order like their bits */
        }
        int64_t ks[] = {1, 5, n / 4, n / 2, n - 3, n, n + 10};
        for (int kind = FEDNL_COMPRESSOR_TOPK; kind <= FEDNL_COMPRESSOR_TOPLEK; kind++) {
            for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                fednl_compressor c = {kind, 0, ks[q], 77 + q, 0};
                step_result a = run_step(FEDNL_KERNEL_REFERENCE, &c, &b, dim, hessian, shift);
                for (int k = 1; k < count; k++) {
                    step_result v = run_step(variants[k], &c, &b, dim, hessian, shift);
                    /* TopLEK may drop its one entry; NaN keys select nothing */
                    CHECK(a.count == v.count && (a.count > 0 || kind == FEDNL_COMPRESSOR_TOPLEK || shape == 3));
                    CHECK(memcmp(a.indices, v.indices, (size_t)a.count * sizeof(int32_t)) == 0);
                    CHECK(memcmp(a.values, v.values, (size_t)a.count * sizeof(double)) == 0);
                    CHECK(memcmp(a.shift, v.shift, (size_t)n * sizeof(double)) == 0);
                    CHECK(memcmp(a.diff, v.diff, (size_t)n * sizeof(double)) == 0);
                    CHECK(memcmp(&a.norm, &v.norm, sizeof(double)) == 0); /* every variant sums M's squares in one order */
                    free_step_result(&v);
                }

                /* the whole-matrix compressor on the same M */
                double *full = calloc((size_t)total, sizeof(double));
                for (int64_t t = 0; t < n; t++) full[b.pattern[t]] = a.diff[t];
                int64_t cap = fednl_compress_capacity(&c, dim), wlen = fednl_compress_workspace(&c, dim), ca = -1, cv = -2;
                int32_t *ia = malloc((size_t)cap * sizeof(int32_t)), *iv = malloc((size_t)cap * sizeof(int32_t));
                double *va = malloc((size_t)cap * sizeof(double)), *vv = malloc((size_t)cap * sizeof(double));
                uint64_t *work = malloc((size_t)wlen * sizeof(uint64_t));
                CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_REFERENCE), FEDNL_OK);
                CHECK_STATUS(fednl_compress(&c, dim, full, ia, cap, va, cap, &ca, work, wlen), FEDNL_OK);
                for (int k = 1; k < count; k++) {
                    CHECK_STATUS(fednl_set_kernel_variant(variants[k]), FEDNL_OK);
                    CHECK_STATUS(fednl_compress(&c, dim, full, iv, cap, vv, cap, &cv, work, wlen), FEDNL_OK);
                    CHECK(ca == cv && memcmp(ia, iv, (size_t)ca * sizeof(int32_t)) == 0 &&
                          memcmp(va, vv, (size_t)ca * sizeof(double)) == 0);
                }
                free(full);
                free(ia);
                free(iv);
                free(va);
                free(vv);
                free(work);
                free_step_result(&a);
            }
        }
    }
    CHECK_STATUS(fednl_set_kernel_variant(before), FEDNL_OK);
    free(hessian);
    free(shift);
    free_plan(&b);
    test_problem_free(&p);
}

/* Ordering of a plain TopK over pattern positions: larger key first, then lower position. */
static const double *plain_keys;
static int plain_order(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (plain_keys[x] != plain_keys[y]) return plain_keys[x] > plain_keys[y] ? -1 : 1;
    return (x > y) - (x < y);
}

/* Packed offset of diagonal entry (i, i) of a dim x dim upper triangle. */
static int64_t diagonal_offset(int64_t dim, int64_t i) { return i * dim - i * (i - 1) / 2; }

static int ascending(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Differences shaped as a converged client's (most of M exactly zero, the rest a few distinct tiny values, so the
 * threshold has long runs of ties, often several in one block of four), all equal, all zero, random, and keys spread
 * over hundreds of binades (TopK's first pass then finds the K-th more than 31 binades below the largest key, once
 * or several times over), a few huge among tiny ones, and subnormal keys among normal ones and zeros. */
static double converged_difference(int shape, int64_t t, test_rng *rng) {
    double u = test_uniform(rng);
    switch (shape) {
    case 0: return 0.0;                                                            /* every key zero */
    case 1: return 0.5;                                                            /* every key equal on each side */
    case 2: return u < 0.67 ? 0.0 : ldexp((double)(1 + (int)(6 * test_uniform(rng))), -140); /* mostly zeros */
    case 3: return u < 0.2 ? 0.0 : u < 0.9 ? 0x1p-130 : ldexp(1.0 + test_uniform(rng), -129); /* one value dominates */
    case 4: return (t % 7 == 0) ? 3.0 : (double)(int)(4 * u) * 0.25;              /* few values, every block tied */
    case 5: return test_normal(rng);                                               /* distinct keys */
    case 6: return test_normal(rng) * ldexp(1.0, -(int)(160 * u));                 /* 320 binades of keys */
    case 7: return u < 0.02 ? 1e150 * (1.0 + u) : test_normal(rng) * 1e-150;       /* a few huge, the rest tiny */
    default: return u < 0.1 ? 0.0 : u < 0.4 ? test_normal(rng) : ldexp(1.0 + u, -530 - (int)(30 * u)); /* subnormal keys */
    }
}

/* TopK on the pattern in every variant against a plain sort of the keys (ties to the lowest positions), on shapes
 * whose keys are zero, all equal or tied at the threshold within blocks, and on patterns of several lengths: the
 * same positions, values M and shift + alpha M there, every other shift entry untouched. TopLEK on the same keys
 * gives the reference's bits in every variant. */
void test_pattern_step_topk_matches_plain_selection(void) {
    int32_t variants[4];
    int count = test_variants(variants);
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    for (int problem = 0; problem < 4; problem++) {
        int64_t dim = 50 + 3 * problem;
        test_problem p = test_problem_make(70 + problem, dim, 0.25, 930 + (uint64_t)problem);
        built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
        int64_t n = b.info.pattern_length;
        double *hessian = plan_hessian_at(&p, &b), *shift = malloc((size_t)n * sizeof(double));
        double *keys = malloc((size_t)n * sizeof(double));
        int32_t *order = malloc((size_t)n * sizeof(int32_t));
        CHECK(n > 1024); /* long enough for the vector loops and every pass */
        double *zeros = calloc((size_t)n, sizeof(double));
        for (int shape = 0; shape < 9; shape++) {
            test_rng rng = {940 + (uint64_t)(10 * problem + shape)};
            /* the spread shapes on H = 0, so that M is the difference itself (H - tiny would round to H) */
            double *h = shape >= 6 ? zeros : hessian;
            for (int64_t t = 0; t < n; t++) shift[t] = h[t] - converged_difference(shape, t, &rng);
            int64_t ks[] = {1, 3, n / 4, n / 3 + 1, n - 3, n, n + 10};
            for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                fednl_compressor c = {FEDNL_COMPRESSOR_TOPK, 0, ks[q], 5 + q, 0};
                int64_t want = ks[q] < n ? ks[q] : n;
                for (int v = 0; v < count; v++) {
                    step_result r = run_step(variants[v], &c, &b, dim, h, shift);
                    /* the plain selection on the keys of M (r.diff): m^2 on the diagonal, 2 m^2 elsewhere */
                    for (int64_t t = 0, i = 0; t < n; t++) {
                        while (i < dim && diagonal_offset(dim, i) < b.pattern[t]) i++;
                        int diagonal = i < dim && diagonal_offset(dim, i) == b.pattern[t];
                        keys[t] = (diagonal ? 1.0 : 2.0) * r.diff[t] * r.diff[t];
                        order[t] = (int32_t)t;
                    }
                    plain_keys = keys;
                    qsort(order, (size_t)n, sizeof *order, plain_order);
                    qsort(order, (size_t)want, sizeof *order, ascending);
                    CHECK(r.count == want);
                    int same = r.count == want, untouched = 1;
                    for (int64_t e = 0; same && e < want; e++)
                        same = r.indices[e] == b.pattern[order[e]] && memcmp(&r.values[e], &r.diff[order[e]], sizeof(double)) == 0;
                    CHECK(same);
                    double *expected = malloc((size_t)n * sizeof(double));
                    memcpy(expected, shift, (size_t)n * sizeof(double));
                    for (int64_t e = 0; e < want; e++) expected[order[e]] += 0.625 * r.diff[order[e]];
                    untouched = memcmp(expected, r.shift, (size_t)n * sizeof(double)) == 0;
                    CHECK(untouched);
                    free(expected);
                    free_step_result(&r);
                }
                /* TopLEK draws from the same TopK set: every variant gives the reference's bits */
                c.kind = FEDNL_COMPRESSOR_TOPLEK;
                step_result a = run_step(FEDNL_KERNEL_REFERENCE, &c, &b, dim, h, shift);
                for (int v = 1; v < count; v++) {
                    step_result r = run_step(variants[v], &c, &b, dim, h, shift);
                    CHECK(a.count == r.count && memcmp(a.indices, r.indices, (size_t)a.count * sizeof(int32_t)) == 0 &&
                          memcmp(a.values, r.values, (size_t)a.count * sizeof(double)) == 0 &&
                          memcmp(a.shift, r.shift, (size_t)n * sizeof(double)) == 0);
                    free_step_result(&r);
                }
                free_step_result(&a);
            }
        }
        CHECK_STATUS(fednl_set_kernel_variant(info.active_variant), FEDNL_OK);
        free(zeros);
        free(hessian);
        free(shift);
        free(keys);
        free(order);
        free_plan(&b);
        test_problem_free(&p);
    }
}

/* The AVX-512 sums of M's squares (M alone, and M with TopK's keys) keep the AVX2 association: the same norm bits
 * on many random differences of every length mod 8 (a last rounding difference shows in about half of the norms). */
void test_pattern_step_norm_avx512_matches_avx2(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    if (!info.avx512_available) {
        test_skip("no AVX-512 F+DQ+BW+VL on this CPU or build");
        return;
    }
    for (int shape = 0; shape < 8; shape++) {
        test_problem p = test_problem_make(60 + shape, 40 + shape, 0.3, 850 + (uint64_t)shape);
        built_plan b = build(&p, FEDNL_HESSIAN_PLAN_SPARSE);
        int64_t dim = 40 + shape, n = b.info.pattern_length;
        double *hessian = plan_hessian_at(&p, &b), *shift = malloc((size_t)n * sizeof(double));
        test_rng rng = {860 + (uint64_t)shape};
        int kinds[] = {FEDNL_COMPRESSOR_RANDK, FEDNL_COMPRESSOR_TOPK, FEDNL_COMPRESSOR_TOPLEK};
        for (int trial = 0; trial < 30; trial++) {
            for (int64_t t = 0; t < n; t++) shift[t] = hessian[t] + test_normal(&rng) * pow(2.0, (double)(trial % 7) - 3);
            for (int q = 0; q < 3; q++) {
                fednl_compressor c = {kinds[q], 0, 1 + n / 5, 91 + (uint64_t)trial, 0};
                step_result a = run_step(FEDNL_KERNEL_AVX2, &c, &b, dim, hessian, shift);
                step_result v = run_step(FEDNL_KERNEL_AVX512, &c, &b, dim, hessian, shift);
                CHECK(memcmp(&a.norm, &v.norm, sizeof a.norm) == 0);
                CHECK(memcmp(a.diff, v.diff, (size_t)n * sizeof(double)) == 0);
                free_step_result(&a);
                free_step_result(&v);
            }
        }
        free(hessian);
        free(shift);
        free_plan(&b);
        test_problem_free(&p);
    }
    CHECK_STATUS(fednl_set_kernel_variant(info.active_variant), FEDNL_OK);
}
