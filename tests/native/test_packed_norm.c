/* test_packed_norm.c - Frobenius norm of a packed symmetric matrix. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

void test_packed_norm_matches_reference(void);

void test_packed_norm_matches_reference(void) {
    const int64_t dims[] = {0, 1, 2, 3, 9, 64, 301};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        int64_t n = dims[k], len = n * (n + 1) / 2;
        double *packed = malloc((size_t)(len + 1) * sizeof(double));
        test_rng rng = {500 + k};
        for (int64_t i = 0; i < len; i++) packed[i] = test_normal(&rng);
        double expected = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                double v = test_packed_get(n, packed, i, j);
                expected += v * v;
            }
        expected = sqrt(expected);
        double norm = -1;
        CHECK_STATUS(fednl_packed_frobenius_norm(n, packed, &norm), FEDNL_OK);
        CHECK_CLOSE(norm, expected, 1e-13 * (1 + expected));
        free(packed);
    }
    double two_by_two[3] = {1, 2, 3}, norm;
    CHECK_STATUS(fednl_packed_frobenius_norm(2, two_by_two, &norm), FEDNL_OK);
    CHECK_CLOSE(norm, sqrt(1.0 + 4.0 + 4.0 + 9.0), 1e-15);
}
