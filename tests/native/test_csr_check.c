/* test_csr_check.c - the one-time CSR validation, and CSR rows written out densely. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void test_csr_check_accepts_valid(void);
void test_csr_check_names_bad_row(void);
void test_csr_to_dense_matches_plain(void);
void test_csr_to_dense_refuses_bad_input(void);

void test_csr_check_accepts_valid(void) {
    test_problem p = test_problem_make(40, 17, 0.3, 7);
    CHECK_STATUS(fednl_csr_check(p.rows, p.cols, p.row_ptr, p.col_idx, p.values), FEDNL_OK);
    int64_t empty_ptr[1] = {0};
    CHECK_STATUS(fednl_csr_check(0, 5, empty_ptr, NULL, NULL), FEDNL_OK);
    test_problem_free(&p);
}

void test_csr_check_names_bad_row(void) {
    int64_t row_ptr[3] = {0, 2, 4};
    int32_t col_idx[4] = {0, 3, 2, 2};
    double values[4] = {1, 2, 3, 4};
    char message[FEDNL_ERROR_CAPACITY];

    CHECK_STATUS(fednl_csr_check(2, 4, row_ptr, col_idx, values), FEDNL_ERR_INVALID_ARGUMENT);
    fednl_last_error(message, sizeof message);
    CHECK(strstr(message, "row 1") != NULL && strstr(message, "ascending") != NULL);

    col_idx[3] = 3;
    CHECK_STATUS(fednl_csr_check(2, 4, row_ptr, col_idx, values), FEDNL_OK);
    CHECK_STATUS(fednl_csr_check(2, 3, row_ptr, col_idx, values), FEDNL_ERR_INVALID_ARGUMENT);
    fednl_last_error(message, sizeof message);
    CHECK(strstr(message, "row 0") != NULL && strstr(message, "outside") != NULL);

    values[2] = NAN;
    CHECK_STATUS(fednl_csr_check(2, 4, row_ptr, col_idx, values), FEDNL_ERR_INVALID_ARGUMENT);
    fednl_last_error(message, sizeof message);
    CHECK(strstr(message, "not finite") != NULL);

    int64_t decreasing[3] = {0, 3, 2};
    values[2] = 1.0;
    CHECK_STATUS(fednl_csr_check(2, 4, decreasing, col_idx, values), FEDNL_ERR_INVALID_ARGUMENT);
}

void test_csr_to_dense_matches_plain(void) {
    for (int shape = 0; shape < 3; shape++) {
        int64_t rows = shape == 0 ? 0 : shape == 1 ? 1 : 77, cols = shape == 2 ? 69 : 5;
        test_problem p = test_problem_make(rows, cols, 0.44, 11 + (uint64_t)shape);
        int64_t n = rows * cols;
        double *out = malloc((size_t)(n + 3) * sizeof(double)), *plain = calloc((size_t)(n + 1), sizeof(double));
        for (int64_t e = 0; e < n + 3; e++) out[e] = -7.0; /* stale values: every entry must be written */
        for (int64_t r = 0; r < rows; r++)
            for (int64_t k = p.row_ptr[r]; k < p.row_ptr[r + 1]; k++) plain[r * cols + p.col_idx[k]] = p.values[k];
        CHECK_STATUS(fednl_csr_to_dense(rows, cols, p.row_ptr, p.col_idx, p.values, out, n + 1), FEDNL_OK);
        CHECK(memcmp(out, plain, (size_t)n * sizeof(double)) == 0);
        CHECK(out[n] == -7.0 && out[n + 2] == -7.0); /* past rows * cols: untouched */
        free(out);
        free(plain);
        test_problem_free(&p);
    }
}

void test_csr_to_dense_refuses_bad_input(void) {
    int64_t row_ptr[3] = {0, 2, 4}, decreasing[3] = {0, 3, 2};
    int32_t col_idx[4] = {0, 3, 1, 4};
    double values[4] = {1, 2, 3, 4}, out[10];
    char message[FEDNL_ERROR_CAPACITY];

    CHECK_STATUS(fednl_csr_to_dense(2, 4, row_ptr, col_idx, values, out, 8), FEDNL_ERR_INVALID_ARGUMENT);
    fednl_last_error(message, sizeof message);
    CHECK(strstr(message, "row 1") != NULL && strstr(message, "column 4") != NULL);
    CHECK_STATUS(fednl_csr_to_dense(2, 5, row_ptr, col_idx, values, out, 9), FEDNL_ERR_INVALID_ARGUMENT);
    fednl_last_error(message, sizeof message);
    CHECK(strstr(message, "out_length") != NULL);
    CHECK_STATUS(fednl_csr_to_dense(2, 5, row_ptr, col_idx, values, out, 10), FEDNL_OK);
    CHECK(out[0] == 1 && out[3] == 2 && out[6] == 3 && out[9] == 4 && out[1] == 0 && out[5] == 0);
    CHECK_STATUS(fednl_csr_to_dense(2, 5, decreasing, col_idx, values, out, 10), FEDNL_ERR_INVALID_ARGUMENT);
    fednl_last_error(message, sizeof message);
    CHECK(strstr(message, "row 1") != NULL && strstr(message, "decreases") != NULL);
    CHECK_STATUS(fednl_csr_to_dense(2, 0, row_ptr, col_idx, values, out, 10), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_csr_to_dense(2, 5, row_ptr, col_idx, values, NULL, 10), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_csr_to_dense(-1, 5, row_ptr, col_idx, values, out, 10), FEDNL_ERR_INVALID_ARGUMENT);
}
