/* csr_check.c - one-time validation of a client's CSR data, so the oracles can trust it every round. */
#include "internal.h"

FEDNL_API int32_t fednl_csr_check(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                  const double *values) {
    if (rows < 0 || cols < 0)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR: rows (%lld) and cols (%lld) must be >= 0",
                          (long long)rows, (long long)cols);
    if (cols > INT32_MAX) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR: cols (%lld) exceeds int32", (long long)cols);
    if (row_ptr == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR: row_ptr is null");
    if (row_ptr[0] != 0)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR: row_ptr[0] is %lld, expected 0", (long long)row_ptr[0]);
    if (row_ptr[rows] > 0 && (col_idx == NULL || values == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR: %lld entries but col_idx or values is null",
                          (long long)row_ptr[rows]);
    for (int64_t r = 0; r < rows; r++) {
        int64_t begin = row_ptr[r], end = row_ptr[r + 1];
        if (end < begin)
            return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR row %lld: row_ptr decreases (%lld > %lld)",
                              (long long)r, (long long)begin, (long long)end);
        for (int64_t k = begin; k < end; k++) {
            if (col_idx[k] < 0 || col_idx[k] >= cols)
                return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR row %lld: column %d outside [0, %lld)",
                                  (long long)r, col_idx[k], (long long)cols);
            if (k > begin && col_idx[k] <= col_idx[k - 1])
                return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT,
                                  "CSR row %lld: columns not strictly ascending (%d after %d)", (long long)r,
                                  col_idx[k], col_idx[k - 1]);
            if (!isfinite(values[k]))
                return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "CSR row %lld: value at column %d is not finite",
                                  (long long)r, col_idx[k]);
        }
    }
    return FEDNL_OK;
}
