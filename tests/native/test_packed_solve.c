/* test_packed_solve.c - the server's Cholesky solve. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void test_packed_solve_small_residual(void);
void test_packed_solve_reports_not_positive_definite(void);
void test_packed_solve_checks_workspace(void);

/* A random symmetric positive definite matrix B B^T / n + I/10, packed. */
static double *random_spd(int64_t n, uint64_t seed) {
    test_rng rng = {seed};
    double *b = malloc((size_t)(n * n) * sizeof(double)), *packed = malloc((size_t)(n * (n + 1) / 2) * sizeof(double));
    for (int64_t k = 0; k < n * n; k++) b[k] = test_normal(&rng);
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i; j < n; j++) {
            double s = 0;
            for (int64_t k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
            packed[o++] = s / (double)n + (i == j ? 0.1 : 0.0);
        }
    free(b);
    return packed;
}

void test_packed_solve_small_residual(void) {
    const int64_t dims[] = {1, 2, 7, 50, 199};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        int64_t n = dims[k];
        double *packed = random_spd(n, 40 + k), shift = 0.25;
        double *rhs = malloc((size_t)n * sizeof(double)), *x = malloc((size_t)n * sizeof(double));
        int64_t work_len = fednl_packed_solve_workspace(n);
        double *work = malloc((size_t)work_len * sizeof(double));
        test_rng rng = {99};
        for (int64_t i = 0; i < n; i++) rhs[i] = test_normal(&rng);
        CHECK_STATUS(fednl_packed_solve(n, packed, shift, rhs, x, work, work_len), FEDNL_OK);
        double residual = 0, rhs_norm = 0;
        for (int64_t i = 0; i < n; i++) {
            double r = shift * x[i] - rhs[i];
            for (int64_t j = 0; j < n; j++) r += test_packed_get(n, packed, i, j) * x[j];
            residual += r * r;
            rhs_norm += rhs[i] * rhs[i];
        }
        CHECK(sqrt(residual) <= 1e-12 * sqrt(rhs_norm));
        free(packed);
        free(rhs);
        free(x);
        free(work);
    }
}

void test_packed_solve_reports_not_positive_definite(void) {
    /* [[1, 2], [2, 1]] has eigenvalues 3 and -1 */
    double packed[3] = {1, 2, 1}, rhs[2] = {1, 1}, x[2] = {42, 43}, work[6];
    CHECK_STATUS(fednl_packed_solve(2, packed, 0.0, rhs, x, work, 6), FEDNL_ERR_NOT_POSITIVE_DEFINITE);
    CHECK(x[0] == 42 && x[1] == 43);
    char message[FEDNL_ERROR_CAPACITY];
    fednl_last_error(message, sizeof message);
    CHECK(strstr(message, "not positive definite") != NULL);
    /* a large enough shift makes it definite */
    CHECK_STATUS(fednl_packed_solve(2, packed, 1.5, rhs, x, work, 6), FEDNL_OK);
    CHECK_CLOSE(x[0], 1.0 / 4.5, 1e-15);
    /* NaN never comes back as a solution */
    double nan_packed[3] = {NAN, 0, 1};
    x[0] = 42;
    int32_t status = fednl_packed_solve(2, nan_packed, 0.0, rhs, x, work, 6);
    CHECK(status == FEDNL_ERR_NOT_POSITIVE_DEFINITE);
    CHECK(x[0] == 42);
}

void test_packed_solve_checks_workspace(void) {
    double packed[3] = {2, 0, 2}, rhs[2] = {1, 1}, x[2], work[6];
    CHECK(fednl_packed_solve_workspace(2) == 6);
    CHECK_STATUS(fednl_packed_solve(2, packed, 0.0, rhs, x, work, 5), FEDNL_ERR_WORKSPACE_TOO_SMALL);
    CHECK_STATUS(fednl_packed_solve(0, packed, 0.0, rhs, x, work, 6), FEDNL_ERR_INVALID_ARGUMENT);
}
