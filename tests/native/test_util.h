/* test_util.h - a minimal harness and the plain reference computations the kernel is checked against. */
#ifndef FEDNL_TEST_UTIL_H
#define FEDNL_TEST_UTIL_H

#include "fednl.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int test_failures;

/* Marks the running case as not run (the harness prints "SKIPPED: why" and exits 77, which CTest reports as
 * skipped): for a case that needs what this CPU or build lacks. */
void test_skip(const char *why);
extern const char *test_skipped;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                         \
            test_failures++;                                                                                 \
        }                                                                                                    \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                                         \
    do {                                                                                                     \
        int32_t status_ = (expr);                                                                            \
        if (status_ != (expected)) {                                                                         \
            char message_[FEDNL_ERROR_CAPACITY];                                                             \
            fednl_last_error(message_, sizeof message_);                                                     \
            fprintf(stderr, "%s:%d: %s returned %d, expected %d (%s)\n", __FILE__, __LINE__, #expr,          \
                    (int)status_, (int)(expected), message_);                                                \
            test_failures++;                                                                                 \
        }                                                                                                    \
    } while (0)

/* expr fails with the expected status and exactly the expected fednl_last_error() message. */
#define CHECK_FAILURE(expr, expected, expected_message)                                                      \
    do {                                                                                                     \
        int32_t status_ = (expr);                                                                            \
        char message_[FEDNL_ERROR_CAPACITY];                                                                 \
        fednl_last_error(message_, sizeof message_);                                                         \
        if (status_ != (expected) || strcmp(message_, (expected_message)) != 0) {                            \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__, __LINE__, #expr,      \
                    (int)status_, message_, (int)(expected), (expected_message));                            \
            test_failures++;                                                                                 \
        }                                                                                                    \
    } while (0)

#define CHECK_CLOSE(actual, expected, tolerance)                                                             \
    do {                                                                                                     \
        double a_ = (actual), e_ = (expected), t_ = (tolerance);                                             \
        if (!(fabs(a_ - e_) <= t_)) {                                                                        \
            fprintf(stderr, "%s:%d: %s = %.17g, expected %.17g (tolerance %.3g)\n", __FILE__, __LINE__,     \
                    #actual, a_, e_, t_);                                                                    \
            test_failures++;                                                                                 \
        }                                                                                                    \
    } while (0)

/* Deterministic generator for test data (splitmix64). */
typedef struct test_rng { uint64_t state; } test_rng;
double test_uniform(test_rng *rng);  /* [0, 1) */
double test_normal(test_rng *rng);

/* A random CSR problem with labels in {-1, +1}; every buffer from malloc, released by test_problem_free. */
typedef struct test_problem {
    int64_t rows, cols;
    int64_t *row_ptr;
    int32_t *col_idx;
    double *values, *labels, *dense, *x;
} test_problem;
test_problem test_problem_make(int64_t rows, int64_t cols, double density, uint64_t seed);
void test_problem_free(test_problem *p);

/* Plain, obviously-correct oracle on the dense copy: f, grad (cols) and the full Hessian (cols*cols). */
void test_reference_oracle(const test_problem *p, double lambda, double *f, double *grad, double *hess_full);

/* Entry (i, j) of a packed upper triangle, either order of i and j. */
double test_packed_get(int64_t dim, const double *packed, int64_t i, int64_t j);

/* The kernel variants this CPU and build can run, the reference first; returns how many (at most 4). */
int test_variants(int32_t variants[4]);

/* Largest absolute entry of v (length n). */
double test_max_abs(int64_t n, const double *v);

#endif
