/* test_csr_check.c - the one-time CSR validation. */
#include "test_util.h"

#include <math.h>
#include <string.h>

void test_csr_check_accepts_valid(void);
void test_csr_check_names_bad_row(void);

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
