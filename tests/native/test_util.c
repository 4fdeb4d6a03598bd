/* test_util.c - test data and the plain reference oracle. */
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

int test_failures = 0;
const char *test_skipped = NULL;

void test_skip(const char *why) { test_skipped = why; }

static uint64_t next_u64(test_rng *rng) {
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double test_uniform(test_rng *rng) { return (double)(next_u64(rng) >> 11) * 0x1.0p-53; }

double test_normal(test_rng *rng) {
    double u1 = test_uniform(rng) + 0x1.0p-60, u2 = test_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

test_problem test_problem_make(int64_t rows, int64_t cols, double density, uint64_t seed) {
    test_rng rng = {seed};
    test_problem p = {rows, cols, NULL, NULL, NULL, NULL, NULL, NULL};
    p.row_ptr = calloc((size_t)rows + 1, sizeof *p.row_ptr);
    p.col_idx = malloc((size_t)(rows * cols + 1) * sizeof *p.col_idx);
    p.values = malloc((size_t)(rows * cols + 1) * sizeof *p.values);
    p.labels = malloc((size_t)(rows + 1) * sizeof *p.labels);
    p.dense = calloc((size_t)(rows * cols + 1), sizeof *p.dense);
    p.x = malloc((size_t)cols * sizeof *p.x);
    int64_t nnz = 0;
    for (int64_t j = 0; j < rows; j++) {
        for (int64_t i = 0; i < cols; i++) {
            if (test_uniform(&rng) < density) {
                double v = test_normal(&rng);
                p.col_idx[nnz] = (int32_t)i;
                p.values[nnz++] = v;
                p.dense[j * cols + i] = v;
            }
        }
        p.row_ptr[j + 1] = nnz;
        p.labels[j] = test_uniform(&rng) < 0.5 ? -1.0 : 1.0;
    }
    for (int64_t i = 0; i < cols; i++) p.x[i] = 0.5 * test_normal(&rng);
    return p;
}

void test_problem_free(test_problem *p) {
    free(p->row_ptr);
    free(p->col_idx);
    free(p->values);
    free(p->labels);
    free(p->dense);
    free(p->x);
}

void test_reference_oracle(const test_problem *p, double lambda, double *f, double *grad, double *hess_full) {
    int64_t m = p->rows, d = p->cols;
    double loss = 0.0;
    for (int64_t i = 0; i < d; i++) grad[i] = lambda * p->x[i];
    for (int64_t i = 0; i < d * d; i++) hess_full[i] = 0.0;
    for (int64_t i = 0; i < d; i++) hess_full[i * d + i] = lambda;
    for (int64_t j = 0; j < m; j++) {
        const double *a = p->dense + j * d;
        double t = 0.0;
        for (int64_t i = 0; i < d; i++) t += a[i] * p->x[i];
        double z = p->labels[j] * t;
        loss += z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
        double s = 1.0 / (1.0 + exp(z));
        for (int64_t i = 0; i < d; i++) grad[i] -= s * p->labels[j] * a[i] / (double)m;
        for (int64_t r = 0; r < d; r++)
            for (int64_t c = 0; c < d; c++) hess_full[r * d + c] += s * (1.0 - s) * a[r] * a[c] / (double)m;
    }
    double norm_squared = 0.0;
    for (int64_t i = 0; i < d; i++) norm_squared += p->x[i] * p->x[i];
    *f = (m > 0 ? loss / (double)m : 0.0) + 0.5 * lambda * norm_squared;
}

double test_packed_get(int64_t dim, const double *packed, int64_t i, int64_t j) {
    if (i > j) {
        int64_t t = i;
        i = j;
        j = t;
    }
    return packed[i * dim - i * (i - 1) / 2 + (j - i)];
}

double test_max_abs(int64_t n, const double *v) {
    double m = 0.0;
    for (int64_t k = 0; k < n; k++) m = fabs(v[k]) > m ? fabs(v[k]) : m;
    return m;
}

int test_variants(int32_t variants[4]) {
    fednl_build_info info;
    int count = 0;
    variants[count++] = FEDNL_KERNEL_REFERENCE;
    if (fednl_get_build_info(&info) != FEDNL_OK) return count;
    if (info.avx2_available) variants[count++] = FEDNL_KERNEL_AVX2;
    if (info.avx512_available) variants[count++] = FEDNL_KERNEL_AVX512;
    return count;
}
