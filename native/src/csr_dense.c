/* csr_dense.c - a client's CSR rows written out densely, once, for the dense oracle and the fused step, which read
 * the rows as a row-major matrix every round. */
#include "internal.h"

#include <string.h>

FEDNL_API int32_t fednl_csr_to_dense(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                     const double *values, double *out, int64_t out_length) {
    if (rows < 0 || cols < 1 || cols > INT32_MAX || (rows > 0 && cols > INT64_MAX / rows))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "csr_to_dense: need rows >= 0 and 1 <= cols <= 2^31 - 1, got %lld x %lld",
                          (long long)rows, (long long)cols);
    if (row_ptr == NULL || (rows > 0 && out == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "csr_to_dense: row_ptr or out is null");
    int32_t status = fednl_check_length("csr_to_dense", "out_length", out_length, rows * cols);
    if (status != FEDNL_OK) return status;
    if (row_ptr[rows] > row_ptr[0] && (col_idx == NULL || values == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "csr_to_dense: col_idx or values is null");
    for (int64_t r = 0; r < rows; r++) {
        /* row by row, so the zeros are still in L1 when the values land on them (one memset of the whole matrix
         * may take the streaming path, and the values then wait on memory) */
        double *row = out + r * cols;
        memset(row, 0, (size_t)cols * sizeof *row);
        int64_t begin = row_ptr[r], end = row_ptr[r + 1];
        if (end < begin)
            return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "csr_to_dense row %lld: row_ptr decreases (%lld > %lld)",
                              (long long)r, (long long)begin, (long long)end);
        for (int64_t k = begin; k < end; k++) {
            int32_t c = col_idx[k];
            if (c < 0 || c >= cols)
                return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "csr_to_dense row %lld: column %d outside [0, %lld)",
                                  (long long)r, c, (long long)cols);
            row[c] = values[k];
        }
    }
    return FEDNL_OK;
}
