/* pattern_multiply.c - y = (H + shift I) x for a symmetric H held over a client's pattern (FedNL-PP's
 * g_i = (H_i + l_i I) w_i - grad f_i(w_i)). Plain loops in a fixed order: the result does not depend on where the
 * buffers sit in memory, which a BLAS kernel's alignment peeling would not promise. */
#include "plan.h"

#include <string.h>

/* The buffers are present and hold the plan's P values and cols entries of x and y. */
static int32_t check_buffers(const fednl_plan_header *h, const double *values, int64_t values_length, const double *x,
                             int64_t x_length, const double *y, int64_t y_capacity) {
    if (values == NULL || x == NULL || y == NULL)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "pattern_multiply: a buffer is null");
    int32_t status = fednl_check_length("pattern_multiply", "values_length", values_length, h->pattern_length);
    if (status == FEDNL_OK) status = fednl_check_length("pattern_multiply", "x_length", x_length, h->cols);
    if (status == FEDNL_OK) status = fednl_check_length("pattern_multiply", "y_capacity", y_capacity, h->cols);
    return status;
}

FEDNL_API int32_t fednl_pattern_multiply(const uint64_t *plan, int64_t plan_words, const double *values,
                                         int64_t values_length, double shift, const double *x, int64_t x_length,
                                         double *y, int64_t y_capacity) {
    const fednl_plan_header *h = fednl_plan_open(plan, plan_words, "pattern_multiply");
    if (h == NULL) return FEDNL_ERR_INVALID_ARGUMENT;
    int32_t status = check_buffers(h, values, values_length, x, x_length, y, y_capacity);
    if (status != FEDNL_OK) return status;
    int64_t dim = h->cols;
    const int32_t *offsets = fednl_plan_pattern(plan, h);
    memset(y, 0, (size_t)dim * sizeof *y);
    int64_t row = 0, row_start = 0, next_start = dim > 1 ? fednl_packed_row_offset(dim, 1) : INT64_MAX;
    for (int64_t t = 0; t < h->pattern_length; t++) {
        int64_t e = offsets != NULL ? offsets[t] : t;
        while (e >= next_start) {
            row++;
            row_start = next_start;
            next_start = row + 1 < dim ? fednl_packed_row_offset(dim, row + 1) : INT64_MAX;
        }
        int64_t col = row + (e - row_start);
        double v = values[t];
        y[row] += v * x[col];
        if (col != row) y[col] += v * x[row];
    }
    for (int64_t i = 0; i < dim; i++) y[i] += shift * x[i];
    return FEDNL_OK;
}
