/* test_loss_step.c - the oracle's loss step (native/src/loss_step.h): its exp against libm and long double, every
 * variant's step bit for bit against the definition compiled here, and the loss sum's precision. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

void test_loss_exp_is_within_an_ulp(void);
void test_loss_step_variants_agree_bitwise(void);
void test_loss_sum_keeps_its_precision(void);

/* The definition on one double, as the reference variant instantiates it. */
#include "../../native/src/loss_step_scalar.h"

/* |got - want| in units of the last place of want (the subnormal spacing below 2^-1022). */
static double ulps(double got, long double want) {
    if (want == 0.0L) return got == 0.0 ? 0.0 : INFINITY;
    int exponent;
    frexpl(want, &exponent);
    long double unit = ldexpl(1.0L, (exponent - 53 < -1074 ? -1074 : exponent - 53));
    return (double)(fabsl((long double)got - want) / unit);
}

/* Millions of margins over every range the oracle sees: within 1 ulp of exp in long double, and within 1 ulp of
 * libm's exp (its own error is about half an ulp). */
void test_loss_exp_is_within_an_ulp(void) {
    test_rng rng = {2024};
    const double spans[] = {1.0, 40.0, 746.0, 1.0e-6};
    double worst = 0.0, worst_libm = 0.0, worst_z = 0.0;
    for (int span = 0; span < 4; span++) {
        for (int i = 0; i < 1000000; i++) {
            double z = spans[span] * test_uniform(&rng) * (i & 1 ? 1.0 : -1.0);
            double got = ls_exp_neg_abs(z);
            double error = ulps(got, expl(-fabsl((long double)z)));
            if (error > worst) {
                worst = error;
                worst_z = z;
            }
            double libm = exp(-fabs(z)), libm_error = fabs(got - libm) / fmax(nextafter(libm, INFINITY) - libm, 0x1.0p-1074);
            if (libm_error > worst_libm) worst_libm = libm_error;
        }
    }
    /* the subnormal results, one at a time across the boundary 2^-1022 and the last rounding to zero */
    for (double z = 700.0; z < 746.5; z += 0.0009765625) {
        double error = ulps(ls_exp_neg_abs(z), expl(-(long double)z));
        if (error > worst) {
            worst = error;
            worst_z = z;
        }
    }
    printf("loss exp: largest error %.3f ulp (at z = %a), %.3f ulp from libm\n", worst, worst_z, worst_libm);
    CHECK(worst <= 1.0);
    CHECK(worst_libm <= 1.0);

    /* exact and limiting values */
    CHECK(ls_exp_neg_abs(0.0) == 1.0 && ls_exp_neg_abs(-0.0) == 1.0 && ls_exp_neg_abs(0x1.0p-1074) == 1.0);
    CHECK(ls_exp_neg_abs(745.1) == 0x1.0p-1074 && ls_exp_neg_abs(-745.1) == 0x1.0p-1074);
    CHECK(ls_exp_neg_abs(745.14) == 0.0 && ls_exp_neg_abs(746.0) == 0.0 && ls_exp_neg_abs(1e300) == 0.0);
    CHECK(ls_exp_neg_abs(INFINITY) == 0.0 && ls_exp_neg_abs(-INFINITY) == 0.0);
    CHECK(isnan(ls_exp_neg_abs(NAN)));
    double e = ls_exp_neg_abs(1.0);
    CHECK(e == exp(-1.0) || e == nextafter(exp(-1.0), 0.0) || e == nextafter(exp(-1.0), 1.0));

    /* the row step at the extremes: weights and coefficients finite, never negative weights */
    const double margins[] = {0.0, -0.0, 1e-300, -1e-300, 36.0, -36.0, 709.0, -709.0, 745.5, -745.5, 1e300, -1e300};
    for (size_t k = 0; k < sizeof margins / sizeof margins[0]; k++) {
        double z = margins[k], factor, linear, coef, weight;
        ls_row(z, 1.0, 0.5, &factor, &linear, &coef, &weight);
        long double el = expl(-fabsl((long double)z)), s = z > 0 ? el / (1 + el) : 1 / (1 + el);
        CHECK(factor >= 1.0 && factor <= 2.0);
        CHECK(linear == (z <= 0 ? -z : 0.0));
        CHECK(ulps(coef, -0.5L * s) <= 2.0);
        CHECK(ulps(weight, 0.5L * el / ((1 + el) * (1 + el))) <= 3.0);
    }
}

/* One nonzero 1.0 per row at column j with x[j] = the wanted margin: every variant's sparse dot is then exact, so the
 * variants see the same margins, and grad[j] is row j's gradient coefficient. */
static test_problem margins_problem(int64_t rows, uint64_t seed) {
    test_rng rng = {seed};
    test_problem p = {rows, rows, NULL, NULL, NULL, NULL, NULL, NULL};
    p.row_ptr = malloc((size_t)(rows + 1) * sizeof *p.row_ptr);
    p.col_idx = malloc((size_t)rows * sizeof *p.col_idx);
    p.values = malloc((size_t)rows * sizeof *p.values);
    p.labels = malloc((size_t)rows * sizeof *p.labels);
    p.x = malloc((size_t)rows * sizeof *p.x);
    const double special[] = {0.0, -0.0, 1e-300, 36.7, -36.7, 708.5, -708.5, 745.13, -745.13, 745.2, -800.0, 1e150, -1e150};
    for (int64_t j = 0; j < rows; j++) {
        p.row_ptr[j] = j;
        p.col_idx[j] = (int32_t)j;
        p.values[j] = 1.0;
        p.labels[j] = test_uniform(&rng) < 0.5 ? -1.0 : 1.0;
        double u = test_uniform(&rng), sign = test_uniform(&rng) < 0.5 ? -1.0 : 1.0;
        p.x[j] = j % 97 < 13 ? special[j % 97] : sign * (j % 3 == 0 ? 800.0 * u : j % 3 == 1 ? 40.0 * u : u);
    }
    p.row_ptr[rows] = rows;
    return p;
}

/* Every variant's loss step gives the bits of the definition compiled here, row by row (weights and gradient
 * coefficients), and the same loss, on rows that end in a partial block and a partial group of 8. */
void test_loss_step_variants_agree_bitwise(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    int32_t variants[4];
    int count = test_variants(variants);
    const int64_t sizes[] = {1, 7, 8, 13, 512, 515, 4099};
    for (size_t q = 0; q < sizeof sizes / sizeof sizes[0]; q++) {
        int64_t rows = sizes[q];
        test_problem p = margins_problem(rows, 70 + q);
        double *margins = malloc((size_t)rows * sizeof(double)), *weights = malloc((size_t)rows * sizeof(double));
        double *grad = malloc((size_t)rows * sizeof(double)), first_f = 0.0;
        double *first_weights = malloc((size_t)rows * sizeof(double)), *first_grad = malloc((size_t)rows * sizeof(double));
        for (int v = 0; v < count; v++) {
            double f;
            CHECK_STATUS(fednl_set_kernel_variant(variants[v]), FEDNL_OK);
            CHECK_STATUS(fednl_logreg_sparse(rows, rows, p.row_ptr, p.col_idx, p.values, p.labels, p.x, 0.0, margins, &f,
                                             grad, NULL, weights),
                         FEDNL_OK);
            int mismatches = 0;
            for (int64_t j = 0; j < rows; j++) {
                double factor, linear, coef, weight;
                CHECK(memcmp(&margins[j], &(double){p.labels[j] * (0.0 + p.x[j])}, sizeof(double)) == 0);
                ls_row(margins[j], p.labels[j], 1.0 / (double)rows, &factor, &linear, &coef, &weight);
                double expected_grad = (0.0 + coef) + 0.0 * p.x[j]; /* the axpy into zeros, then lambda x */
                mismatches += memcmp(&weights[j], &weight, sizeof weight) != 0;
                mismatches += memcmp(&grad[j], &expected_grad, sizeof expected_grad) != 0;
            }
            if (mismatches != 0) fprintf(stderr, "variant %d, %lld rows: %d mismatches\n", (int)variants[v], (long long)rows, mismatches);
            CHECK(mismatches == 0);
            if (v == 0) {
                first_f = f;
                memcpy(first_weights, weights, (size_t)rows * sizeof(double));
                memcpy(first_grad, grad, (size_t)rows * sizeof(double));
            } else {
                CHECK(memcmp(&f, &first_f, sizeof f) == 0);
            }
        }
        free(margins);
        free(weights);
        free(grad);
        free(first_weights);
        free(first_grad);
        test_problem_free(&p);
    }
    CHECK_STATUS(fednl_set_kernel_variant(info.active_variant), FEDNL_OK);
}

/* The loss over 100003 rows (margins from -60 to 60, and some beyond 700) is within 1e-14 of the long double sum:
 * the per-lane products and one log per 512 rows lose no more than summing the terms one by one. */
void test_loss_sum_keeps_its_precision(void) {
    int64_t rows = 100003;
    test_problem p = margins_problem(rows, 5);
    test_rng rng = {6};
    for (int64_t j = 0; j < rows; j++) p.x[j] = j % 1000 == 0 ? 750.0 * (test_uniform(&rng) - 0.5) : 60.0 * (test_uniform(&rng) - 0.5);
    double *margins = malloc((size_t)rows * sizeof(double)), f;
    CHECK_STATUS(fednl_logreg_sparse(rows, rows, p.row_ptr, p.col_idx, p.values, p.labels, p.x, 0.0, margins, &f, NULL,
                                     NULL, NULL),
                 FEDNL_OK);
    long double exact = 0.0L;
    for (int64_t j = 0; j < rows; j++) {
        long double z = margins[j];
        exact += (z <= 0 ? -z : 0.0L) + log1pl(expl(-fabsl(z)));
    }
    exact /= rows;
    printf("loss sum: relative error %.3g\n", (double)(fabsl((long double)f - exact) / exact));
    CHECK(fabsl((long double)f - exact) <= 1e-14L * exact);
    free(margins);
    test_problem_free(&p);
}
