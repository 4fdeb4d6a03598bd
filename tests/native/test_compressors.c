/* test_compressors.c - compressor contracts: exactness, counts, ordering, contraction bounds, unbiasedness
 * and variance over many seeded draws (deterministic: the seeds are fixed). */
#include "test_util.h"
#include "../../native/src/random.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void test_compress_identical_is_exact(void);
void test_compress_topk_keeps_largest_and_contracts(void);
void test_compress_toplek_meets_bound_in_expectation(void);
void test_compress_random_kinds_are_unbiased(void);
void test_compress_randseqk_wraps(void);
void test_compress_natural_rounds_to_powers_of_two(void);
void test_compress_indices_regenerate(void);
void test_compress_rejects_bad_arguments(void);
void test_compress_topk_breaks_ties_by_position(void);
void test_compress_refuses_short_outputs(void);
void test_compress_indices_refuses_short_indices(void);
void test_compress_permk_blocks_partition_the_entries(void);
void test_compress_permk_entries_reach_every_block_uniformly(void);
void test_compress_permk_is_unbiased_with_omega_n_minus_1(void);
void test_compress_permk_rejects_more_clients_than_entries(void);
void test_compress_natural_variants_agree_bitwise(void);
void test_compress_toplek_matches_plain_selection(void);
void test_compress_natural_draws_follow_positions(void);
void test_compress_natural_lanes_are_independent(void);
void test_compress_randk_matches_plain_floyd(void);

typedef struct compressed {
    int64_t dim, total, capacity, count, work_len;
    int32_t *indices;
    double *values;
    uint64_t *work;
} compressed;

static compressed make_compressed(const fednl_compressor *c, int64_t dim) {
    compressed r;
    r.dim = dim;
    r.total = dim * (dim + 1) / 2;
    r.capacity = fednl_compress_capacity(c, dim);
    r.work_len = fednl_compress_workspace(c, dim);
    r.indices = malloc((size_t)(r.capacity + 1) * sizeof *r.indices);
    r.values = malloc((size_t)(r.capacity + 1) * sizeof *r.values);
    r.work = malloc((size_t)(r.work_len + 1) * sizeof *r.work);
    r.count = -1;
    return r;
}

static void free_compressed(compressed *r) {
    free(r->indices);
    free(r->values);
    free(r->work);
}

/* fednl_compress into r, every buffer at the capacity the library asks for. */
static int32_t compress_into(const fednl_compressor *c, const double *m, compressed *r) {
    return fednl_compress(c, r->dim, m, r->indices, r->capacity, r->values, r->capacity, &r->count, r->work, r->work_len);
}

/* The compressed matrix as a dense packed array. */
static void expand(const fednl_compressor *c, const compressed *r, double *out) {
    memset(out, 0, (size_t)r->total * sizeof *out);
    int dense = c->kind == FEDNL_COMPRESSOR_IDENTICAL || c->kind == FEDNL_COMPRESSOR_NATURAL;
    for (int64_t t = 0; t < r->count; t++) out[dense ? t : r->indices[t]] = r->values[t];
}

/* Frobenius norm squared of the symmetric matrix behind a packed array. */
static double norm2(int64_t dim, const double *p) {
    double s = 0;
    for (int64_t i = 0, e = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++, e++) s += (i == j ? 1.0 : 2.0) * p[e] * p[e];
    return s;
}

static double *random_packed(int64_t dim, uint64_t seed) {
    int64_t total = dim * (dim + 1) / 2;
    double *m = malloc((size_t)total * sizeof *m);
    test_rng rng = {seed};
    for (int64_t e = 0; e < total; e++) m[e] = test_normal(&rng) * (test_uniform(&rng) < 0.2 ? 10.0 : 1.0);
    return m;
}

void test_compress_identical_is_exact(void) {
    fednl_compressor c = {FEDNL_COMPRESSOR_IDENTICAL, 0, 0, 1, 0};
    double *m = random_packed(13, 1);
    compressed r = make_compressed(&c, 13);
    CHECK_STATUS(fednl_compress(&c, 13, m, NULL, 0, r.values, r.capacity, &r.count, NULL, 0), FEDNL_OK);
    CHECK(r.count == r.total);
    CHECK(memcmp(r.values, m, (size_t)r.total * sizeof(double)) == 0);
    free_compressed(&r);
    free(m);
}

void test_compress_topk_keeps_largest_and_contracts(void) {
    const int64_t dims[] = {1, 2, 5, 30, 77};
    for (size_t n = 0; n < sizeof dims / sizeof dims[0]; n++) {
        int64_t dim = dims[n], total = dim * (dim + 1) / 2;
        double *m = random_packed(dim, 10 + n), *out = malloc((size_t)total * sizeof(double));
        for (int64_t k = 1; k <= total; k = k * 3 + 1) {
            fednl_compressor c = {FEDNL_COMPRESSOR_TOPK, 0, k, 5, 0};
            compressed r = make_compressed(&c, dim);
            CHECK_STATUS(compress_into(&c, m, &r), FEDNL_OK);
            CHECK(r.count == k);
            for (int64_t t = 1; t < r.count; t++) CHECK(r.indices[t] > r.indices[t - 1]);
            /* every kept weight >= every dropped weight */
            expand(&c, &r, out);
            double smallest_kept = INFINITY, largest_dropped = 0;
            for (int64_t i = 0, e = 0; i < dim; i++)
                for (int64_t j = i; j < dim; j++, e++) {
                    double w = (i == j ? 1.0 : 2.0) * m[e] * m[e];
                    if (out[e] != 0.0) smallest_kept = fmin(smallest_kept, w);
                    else largest_dropped = fmax(largest_dropped, w);
                    if (out[e] != 0.0) CHECK(out[e] == m[e]);
                }
            CHECK(smallest_kept >= largest_dropped);
            for (int64_t e = 0; e < total; e++) out[e] -= m[e];
            CHECK(norm2(dim, out) <= (1.0 - (double)k / (double)total) * norm2(dim, m) * (1 + 1e-12));
            free_compressed(&r);
        }
        free(m);
        free(out);
    }
}

void test_compress_toplek_meets_bound_in_expectation(void) {
    int64_t dim = 40, total = dim * (dim + 1) / 2, k = 8 * dim;
    double *m = random_packed(dim, 21), *out = malloc((size_t)total * sizeof(double));
    double delta = (double)k / (double)total, bound = (1.0 - delta) * norm2(dim, m), mean_residual = 0;
    const int draws = 4000;
    int fewer = 0;
    for (int s = 0; s < draws; s++) {
        fednl_compressor c = {FEDNL_COMPRESSOR_TOPLEK, 0, k, (uint64_t)s, 0};
        compressed r = make_compressed(&c, dim);
        CHECK_STATUS(compress_into(&c, m, &r), FEDNL_OK);
        CHECK(r.count <= k);
        fewer += r.count < k;
        for (int64_t t = 1; t < r.count; t++) CHECK(r.indices[t] > r.indices[t - 1]);
        expand(&c, &r, out);
        for (int64_t e = 0; e < total; e++) out[e] -= m[e];
        mean_residual += norm2(dim, out) / draws;
        free_compressed(&r);
    }
    CHECK(fewer == draws); /* mass is concentrated: TopLEK sends fewer than K here */
    /* two outcomes only (boundary kept or not), so the mean converges fast; 1e-3 relative is generous */
    CHECK_CLOSE(mean_residual, bound, 1e-3 * bound);
    free(m);
    free(out);
}

/* Unbiased: the mean of many draws approaches M; variance: E|C(M) - M|^2 <= omega |M|^2 (+ sampling slack). */
static void check_unbiased(int32_t kind, int64_t dim, int64_t k, double omega, double exact_variance_factor) {
    int64_t total = dim * (dim + 1) / 2;
    double *m = random_packed(dim, 31 + (uint64_t)kind), *out = malloc((size_t)total * sizeof(double));
    double *mean = calloc((size_t)total, sizeof(double));
    double variance = 0, mnorm = norm2(dim, m);
    const int draws = 20000;
    for (int s = 0; s < draws; s++) {
        fednl_compressor c = {kind, 0, k, (uint64_t)s * 7919u, 0};
        compressed r = make_compressed(&c, dim);
        CHECK_STATUS(compress_into(&c, m, &r), FEDNL_OK);
        if (kind != FEDNL_COMPRESSOR_NATURAL) CHECK(r.count == (k < total ? k : total));
        expand(&c, &r, out);
        for (int64_t e = 0; e < total; e++) {
            mean[e] += out[e] / draws;
            out[e] -= m[e];
        }
        variance += norm2(dim, out) / draws;
        free_compressed(&r);
    }
    /* each entry's mean is within 6 standard errors (per-entry variance <= omega-ish * m_e^2 * scale) */
    double scale = kind == FEDNL_COMPRESSOR_NATURAL ? 0.125 : (double)total / (double)k - 1.0;
    for (int64_t e = 0; e < total; e++) {
        double sd = sqrt(scale * m[e] * m[e] / draws) + 1e-12;
        CHECK_CLOSE(mean[e], m[e], 6.0 * sd);
    }
    CHECK(variance <= omega * mnorm * 1.03);
    if (exact_variance_factor > 0) CHECK_CLOSE(variance, exact_variance_factor * mnorm, 0.03 * exact_variance_factor * mnorm);
    free(m);
    free(out);
    free(mean);
}

void test_compress_random_kinds_are_unbiased(void) {
    int64_t dim = 12, total = dim * (dim + 1) / 2, k = 20;
    double omega = (double)total / (double)k - 1.0;
    check_unbiased(FEDNL_COMPRESSOR_RANDK, dim, k, omega, omega);
    check_unbiased(FEDNL_COMPRESSOR_RANDSEQK, dim, k, omega, omega);
    check_unbiased(FEDNL_COMPRESSOR_NATURAL, dim, 0, 0.125, 0.0);
}

void test_compress_randseqk_wraps(void) {
    int64_t dim = 6, total = 21, k = 8;
    double m[21];
    for (int e = 0; e < 21; e++) m[e] = e + 1;
    int saw_wrap = 0;
    for (uint64_t s = 0; s < 200; s++) {
        fednl_compressor c = {FEDNL_COMPRESSOR_RANDSEQK, 0, k, s, 0};
        compressed r = make_compressed(&c, dim);
        int64_t start = -1, count = 0;
        CHECK_STATUS(compress_into(&c, m, &r), FEDNL_OK);
        CHECK_STATUS(fednl_compress_indices(&c, dim, r.indices, r.capacity, &count, &start, r.work, r.work_len), FEDNL_OK);
        CHECK(r.count == k && count == k && start >= 0 && start < total);
        /* the window is start, start+1, ... modulo D */
        int in_window[21] = {0};
        for (int64_t t = 0; t < k; t++) in_window[(start + t) % total] = 1;
        for (int64_t t = 0; t < count; t++) CHECK(in_window[r.indices[t]]);
        for (int64_t t = 1; t < count; t++) CHECK(r.indices[t] > r.indices[t - 1]);
        for (int64_t t = 0; t < r.count; t++) CHECK_CLOSE(r.values[t], m[r.indices[t]] * (double)total / (double)k, 1e-12);
        saw_wrap |= start + k > total;
        free_compressed(&r);
    }
    CHECK(saw_wrap);
}

void test_compress_natural_rounds_to_powers_of_two(void) {
    double m[6] = {0.0, 1.0, -3.0, 0.75, 1e-300, -0.5};
    double values[6];
    int64_t count;
    fednl_compressor c = {FEDNL_COMPRESSOR_NATURAL, 0, 0, 3, 0};
    CHECK_STATUS(fednl_compress(&c, 3, m, NULL, 0, values, 6, &count, NULL, 0), FEDNL_OK);
    CHECK(count == 6);
    CHECK(values[0] == 0.0 && values[1] == 1.0 && values[5] == -0.5);
    CHECK(values[2] == -2.0 || values[2] == -4.0);
    CHECK(values[3] == 0.5 || values[3] == 1.0);
    int exponent;
    CHECK(frexp(values[4], &exponent) == 0.5);
}

void test_compress_indices_regenerate(void) {
    int64_t dim = 25, k = 60;
    double *m = random_packed(dim, 3);
    for (int kind = FEDNL_COMPRESSOR_RANDK; kind <= FEDNL_COMPRESSOR_RANDSEQK; kind++) {
        fednl_compressor c = {kind, 0, k, 42, 0};
        compressed a = make_compressed(&c, dim), b = make_compressed(&c, dim);
        int64_t start;
        CHECK_STATUS(compress_into(&c, m, &a), FEDNL_OK);
        CHECK_STATUS(fednl_compress_indices(&c, dim, b.indices, b.capacity, &b.count, &start, b.work, b.work_len), FEDNL_OK);
        CHECK(a.count == b.count && memcmp(a.indices, b.indices, (size_t)a.count * sizeof(int32_t)) == 0);
        c.seed = 43;
        CHECK_STATUS(fednl_compress_indices(&c, dim, b.indices, b.capacity, &b.count, &start, b.work, b.work_len), FEDNL_OK);
        CHECK(memcmp(a.indices, b.indices, (size_t)a.count * sizeof(int32_t)) != 0);
        free_compressed(&a);
        free_compressed(&b);
    }
    free(m);
}

void test_compress_rejects_bad_arguments(void) {
    double m[3] = {1, 2, 3}, values[3];
    int32_t indices[3];
    int64_t count;
    uint64_t work[8];
    fednl_compressor c = {FEDNL_COMPRESSOR_TOPK, 0, 0, 1, 0};
    CHECK_STATUS(fednl_compress(&c, 2, m, indices, 3, values, 3, &count, work, 8), FEDNL_ERR_INVALID_ARGUMENT);
    c.kind = 9;
    c.k = 2;
    CHECK_STATUS(fednl_compress(&c, 2, m, indices, 3, values, 3, &count, work, 8), FEDNL_ERR_INVALID_ARGUMENT);
    c.kind = FEDNL_COMPRESSOR_TOPK;
    CHECK_STATUS(fednl_compress(&c, 2, m, indices, 3, values, 3, &count, work, 1), FEDNL_ERR_WORKSPACE_TOO_SMALL);
    CHECK_STATUS(fednl_packed_add_compressed(2, m, 1.0, indices, values, 4), FEDNL_ERR_INVALID_ARGUMENT);
    indices[0] = 7;
    CHECK_STATUS(fednl_packed_add_compressed(2, m, 1.0, indices, values, 1), FEDNL_ERR_INVALID_ARGUMENT);
}

void test_compress_topk_breaks_ties_by_position(void) {
    /* entries +-1: every off-diagonal key is 2, every diagonal key 1, so the K = 100 kept entries are the first 100
     * off-diagonal positions, whatever the selection's internals do with runs of equal keys */
    int64_t dim = 60, total = dim * (dim + 1) / 2;
    double *m = malloc((size_t)total * sizeof(double));
    for (int64_t e = 0; e < total; e++) m[e] = (e % 3 == 0) ? -1.0 : 1.0;
    fednl_compressor c = {FEDNL_COMPRESSOR_TOPK, 0, 100, 1, 0};
    compressed r = make_compressed(&c, dim);
    CHECK_STATUS(compress_into(&c, m, &r), FEDNL_OK);
    CHECK(r.count == 100);
    int64_t t = 0;
    for (int64_t i = 0, e = 0; i < dim && t < 100; i++)
        for (int64_t j = i; j < dim && t < 100; j++, e++)
            if (j != i) {
                CHECK(r.indices[t] == e);
                CHECK(r.values[t] == m[e]);
                t++;
            }
    free_compressed(&r);
    free(m);
}

/* A buffer one entry shorter than fednl_compress_capacity is refused, naming the argument and both sizes, and no
 * output changes; the exact capacity is accepted. d = 4, so D = 10: K = 50 > D needs D entries. */
void test_compress_refuses_short_outputs(void) {
    const fednl_compressor kinds[] = {{FEDNL_COMPRESSOR_TOPK, 0, 3, 1, 0},    {FEDNL_COMPRESSOR_TOPLEK, 0, 3, 1, 0},
                                      {FEDNL_COMPRESSOR_RANDK, 0, 50, 1, 0},  {FEDNL_COMPRESSOR_RANDSEQK, 0, 4, 1, 0},
                                      {FEDNL_COMPRESSOR_IDENTICAL, 0, 0, 1, 0}, {FEDNL_COMPRESSOR_NATURAL, 0, 0, 1, 0}};
    const int64_t needs[] = {3, 3, 10, 4, 10, 10};
    double *m = random_packed(4, 20);
    char expected[FEDNL_ERROR_CAPACITY];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const fednl_compressor *c = &kinds[i];
        int dense = c->kind == FEDNL_COMPRESSOR_IDENTICAL || c->kind == FEDNL_COMPRESSOR_NATURAL;
        compressed r = make_compressed(c, 4);
        int64_t need = needs[i];
        CHECK(r.capacity == need);
        r.indices[0] = -7;
        r.values[0] = -7.0;
        if (!dense) {
            snprintf(expected, sizeof expected, "compress: indices_capacity is %lld, need at least %lld",
                     (long long)(need - 1), (long long)need);
            CHECK_FAILURE(fednl_compress(c, 4, m, r.indices, need - 1, r.values, need, &r.count, r.work, r.work_len),
                          FEDNL_ERR_INVALID_ARGUMENT, expected);
        }
        snprintf(expected, sizeof expected, "compress: values_capacity is %lld, need at least %lld", (long long)(need - 1),
                 (long long)need);
        CHECK_FAILURE(fednl_compress(c, 4, m, r.indices, need, r.values, need - 1, &r.count, r.work, r.work_len),
                      FEDNL_ERR_INVALID_ARGUMENT, expected);
        CHECK(r.count == -1 && r.indices[0] == -7 && r.values[0] == -7.0);
        /* the dense kinds write no indices: a null buffer of capacity 0 is fine */
        CHECK_STATUS(fednl_compress(c, 4, m, dense ? NULL : r.indices, dense ? 0 : need, r.values, need, &r.count, r.work,
                                    r.work_len),
                     FEDNL_OK);
        /* toplek may keep fewer than K entries, even none */
        CHECK(c->kind == FEDNL_COMPRESSOR_TOPLEK ? r.count >= 0 && r.count <= need : r.count == need);
        free_compressed(&r);
    }
    free(m);
}

/* fednl_compress_indices refuses an indices buffer shorter than min(K, D), writing nothing. */
void test_compress_indices_refuses_short_indices(void) {
    const fednl_compressor kinds[] = {{FEDNL_COMPRESSOR_RANDK, 0, 50, 8, 0}, {FEDNL_COMPRESSOR_RANDSEQK, 0, 4, 8, 0}};
    const int64_t needs[] = {10, 4};
    char expected[FEDNL_ERROR_CAPACITY];
    for (size_t i = 0; i < 2; i++) {
        compressed r = make_compressed(&kinds[i], 4);
        int64_t need = needs[i], count = -7, start = -7;
        r.indices[0] = -7;
        snprintf(expected, sizeof expected, "compress_indices: indices_capacity is %lld, need at least %lld",
                 (long long)(need - 1), (long long)need);
        CHECK_FAILURE(fednl_compress_indices(&kinds[i], 4, r.indices, need - 1, &count, &start, r.work, r.work_len),
                      FEDNL_ERR_INVALID_ARGUMENT, expected);
        CHECK(count == -7 && start == -7 && r.indices[0] == -7);
        CHECK_STATUS(fednl_compress_indices(&kinds[i], 4, r.indices, need, &count, &start, r.work, r.work_len), FEDNL_OK);
        CHECK(count == need);
        free_compressed(&r);
    }
}

/* AVX2 natural compression (four entries per step, one counter-based draw per lane) gives the reference's values
 * bit for bit, and so the same draws: on random magnitudes across many binades with zeros, subnormals, infinities, NaN
 * and powers of two mixed in, at every length mod 4, and with the seeds of several rounds. */
void test_compress_natural_variants_agree_bitwise(void) {
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    if (!info.avx2_available) {
        printf("SKIPPED: no AVX2 on this CPU or build\n");
        return;
    }
    int32_t before = info.active_variant;
    for (int64_t dim = 40; dim < 44; dim++) { /* D = 820, 861, 903, 946: every remainder mod 4 */
        int64_t total = dim * (dim + 1) / 2;
        double *m = malloc((size_t)total * sizeof(double)), *a = malloc((size_t)total * sizeof(double)),
               *v = malloc((size_t)total * sizeof(double));
        test_rng rng = {3000 + (uint64_t)dim};
        for (int64_t e = 0; e < total; e++) {
            double u = test_uniform(&rng), x = test_normal(&rng) * pow(2.0, (double)(int)(60 * u) - 30);
            if (e % 97 == 5) x = 0.0;
            else if (e % 101 == 7) x = -0x1.8p-1070; /* subnormal */
            else if (e % 211 == 11) x = e % 2 ? INFINITY : -INFINITY;
            else if (e % 307 == 13) x = NAN;
            else if (e % 53 == 17) x = -0.25;
            m[e] = x;
        }
        for (uint64_t seed = 1; seed <= 3; seed++) {
            fednl_compressor c = {FEDNL_COMPRESSOR_NATURAL, 0, 0, seed * 7919, 0};
            int64_t ca = -1, cv = -2;
            CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_REFERENCE), FEDNL_OK);
            CHECK_STATUS(fednl_compress(&c, dim, m, NULL, 0, a, total, &ca, NULL, 0), FEDNL_OK);
            CHECK_STATUS(fednl_set_kernel_variant(FEDNL_KERNEL_AVX2), FEDNL_OK);
            CHECK_STATUS(fednl_compress(&c, dim, m, NULL, 0, v, total, &cv, NULL, 0), FEDNL_OK);
            CHECK(ca == total && cv == total);
            CHECK(memcmp(a, v, (size_t)total * sizeof(double)) == 0);
        }
        free(m);
        free(a);
        free(v);
    }
    CHECK_STATUS(fednl_set_kernel_variant(before), FEDNL_OK);
}

/* Ordering of a plain TopLEK: larger key first, then lower position. */
static const double *toplek_order_keys;
static int toplek_order(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    double kx = toplek_order_keys[x], ky = toplek_order_keys[y];
    if (kx != ky) return kx > ky ? -1 : 1;
    return x < y ? -1 : 1;
}

static int ascending_index(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* TopLEK against a plain one: sort the TopK set (larger key first, ties to the lower position), keep the shortest
 * prefix whose removal leaves the residual within (1 - K/D)|M|^2, summing in that order; TopLEK returns that
 * prefix or the prefix without its last entry (the boundary coin), as ascending indices. On concentrated mass
 * (TopLEK takes the few binades its pops reach from the first pass's counts, without the TopK set), on a flat one
 * (it needs the whole TopK set), on ties, and on a few large entries among zeros and subnormal keys. */
void test_compress_toplek_matches_plain_selection(void) {
    int64_t dim = 60, total = dim * (dim + 1) / 2;
    double *m = malloc((size_t)total * sizeof(double)), *keys = malloc((size_t)total * sizeof(double));
    for (int shape = 0; shape < 4; shape++) {
        test_rng rng = {4100 + (uint64_t)shape};
        for (int64_t e = 0; e < total; e++) {
            double u = test_uniform(&rng);
            if (shape == 3) /* a few large entries among zeros and tiny ones (keys subnormal) */
                m[e] = e % 97 == 0 ? test_normal(&rng) : e % 3 == 0 ? 0.0 : 1e-160 * u;
            else
                m[e] = shape == 0 ? test_normal(&rng) * pow(2.0, -24.0 * u) : shape == 1 ? 1.0 + 1e-3 * u : (double)(int)(3 * u);
        }
        for (int64_t i = 0, e = 0; i < dim; i++)
            for (int64_t j = i; j < dim; j++, e++) keys[e] = (i == j ? 1.0 : 2.0) * m[e] * m[e];
        int64_t ks[] = {dim, 8 * dim, total / 3};
        for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
            int64_t k = ks[q];
            fednl_compressor topk = {FEDNL_COMPRESSOR_TOPK, 0, k, 0, 0};
            compressed top = make_compressed(&topk, dim);
            CHECK_STATUS(compress_into(&topk, m, &top), FEDNL_OK);
            /* |M|^2 as TopLEK defines it: eight running sums by position mod 8, added pairwise */
            double lanes[8] = {0};
            for (int64_t e = 0; e < total; e++) lanes[e & 7] += keys[e];
            double norm = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
            double bound = (1.0 - (double)k / (double)total) * norm, kept = 0.0;
            toplek_order_keys = keys;
            qsort(top.indices, (size_t)top.count, sizeof(int32_t), toplek_order);
            int64_t keep = 0;
            while (keep < top.count && norm - kept > bound) kept += keys[top.indices[keep++]];
            CHECK(shape != 0 || keep < top.count / 4); /* concentrated: few pops */
            int32_t *with = malloc((size_t)(keep + 1) * sizeof(int32_t));
            memcpy(with, top.indices, (size_t)keep * sizeof(int32_t));
            qsort(with, (size_t)keep, sizeof(int32_t), ascending_index);
            int32_t *without = malloc((size_t)(keep + 1) * sizeof(int32_t));
            memcpy(without, top.indices, (size_t)(keep > 0 ? keep - 1 : 0) * sizeof(int32_t));
            qsort(without, (size_t)(keep > 0 ? keep - 1 : 0), sizeof(int32_t), ascending_index);
            for (uint64_t seed = 0; seed < 40; seed++) {
                fednl_compressor c = {FEDNL_COMPRESSOR_TOPLEK, 0, k, seed, 0};
                compressed r = make_compressed(&c, dim);
                CHECK_STATUS(compress_into(&c, m, &r), FEDNL_OK);
                int is_with = r.count == keep && memcmp(r.indices, with, (size_t)keep * sizeof(int32_t)) == 0;
                int is_without = keep > 0 && r.count == keep - 1 &&
                                 memcmp(r.indices, without, (size_t)(keep - 1) * sizeof(int32_t)) == 0;
                CHECK(is_with || is_without);
                for (int64_t t = 0; t < r.count; t++) CHECK(r.values[t] == m[r.indices[t]]);
                free_compressed(&r);
            }
            free(with);
            free(without);
            free_compressed(&top);
        }
    }
    free(m);
    free(keys);
}

/* PermK with n clients: client i's compressor on the round's shared seed. */
static fednl_compressor permk(int64_t clients, int64_t client, uint64_t seed) {
    fednl_compressor c = {FEDNL_COMPRESSOR_PERMK, (int32_t)client, 0, seed, clients};
    return c;
}

/* Every client's block for one seed: floor(D/n) entries, one more for exactly D mod n clients; ascending; the blocks
 * are disjoint and cover all D entries, so the sum over clients is n M bit for bit; the indices regenerate. */
void test_compress_permk_blocks_partition_the_entries(void) {
    const int64_t shapes[][2] = {{1, 1}, {4, 4}, {4, 10}, {6, 5}, {6, 7}, {12, 11}, {12, 78}, {25, 24}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t dim = shapes[s][0], n = shapes[s][1], total = dim * (dim + 1) / 2, q = total / n, r = total % n;
        double *m = random_packed(dim, 50 + s), *sum = calloc((size_t)total, sizeof(double));
        int *owner = malloc((size_t)total * sizeof(int));
        for (uint64_t seed = 1; seed <= 20; seed++) {
            memset(sum, 0, (size_t)total * sizeof(double));
            for (int64_t e = 0; e < total; e++) owner[e] = -1;
            int64_t longer = 0;
            for (int64_t i = 0; i < n; i++) {
                fednl_compressor c = permk(n, i, seed * 977);
                compressed a = make_compressed(&c, dim), b = make_compressed(&c, dim);
                CHECK(a.capacity == (total + n - 1) / n);
                CHECK_STATUS(compress_into(&c, m, &a), FEDNL_OK);
                CHECK(a.count == q || a.count == q + 1);
                longer += a.count == q + 1;
                for (int64_t t = 0; t < a.count; t++) {
                    int32_t e = a.indices[t];
                    CHECK(t == 0 || e > a.indices[t - 1]);
                    CHECK(e >= 0 && e < total && owner[e] == -1);
                    if (e >= 0 && e < total) owner[e] = (int)i;
                    CHECK(a.values[t] == (double)n * m[e]);
                    if (e >= 0 && e < total) sum[e] += a.values[t];
                }
                int64_t start = 0;
                CHECK_STATUS(fednl_compress_indices(&c, dim, b.indices, b.capacity, &b.count, &start, b.work, b.work_len),
                             FEDNL_OK);
                CHECK(b.count == a.count && start == -1);
                CHECK(memcmp(a.indices, b.indices, (size_t)a.count * sizeof(int32_t)) == 0);
                free_compressed(&a);
                free_compressed(&b);
            }
            CHECK(longer == r);
            for (int64_t e = 0; e < total; e++) {
                CHECK(owner[e] >= 0);
                CHECK(sum[e] == (double)n * m[e]);
            }
        }
        free(m);
        free(sum);
        free(owner);
    }
}

/* Each entry lands in each client's block with probability 1/n, leftover entries included (D mod n != 0 here): over
 * R seeds every (entry, client) count is Binomial(R, 1/n), and each client's count of longer blocks is
 * Binomial(R, r/n). Each count is held to 6 standard deviations: by the normal tail and a union bound over all counts
 * a correct compressor fails with probability below 1e-7 (and the seeds are fixed, so the outcome is too). */
void test_compress_permk_entries_reach_every_block_uniformly(void) {
    const int64_t shapes[][2] = {{4, 4}, {5, 4}, {6, 8}};
    const int64_t rounds = 40000;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t dim = shapes[s][0], n = shapes[s][1], total = dim * (dim + 1) / 2, q = total / n, r = total % n;
        CHECK(r != 0);
        int64_t *hits = calloc((size_t)(total * n), sizeof(int64_t)), *longer = calloc((size_t)n, sizeof(int64_t));
        for (int64_t round = 0; round < rounds; round++) {
            for (int64_t i = 0; i < n; i++) {
                fednl_compressor c = permk(n, i, 0x5EED0000u + (uint64_t)round);
                compressed a = make_compressed(&c, dim);
                int64_t start;
                CHECK_STATUS(fednl_compress_indices(&c, dim, a.indices, a.capacity, &a.count, &start, a.work, a.work_len),
                             FEDNL_OK);
                for (int64_t t = 0; t < a.count; t++) hits[a.indices[t] * n + i]++;
                longer[i] += a.count == q + 1;
                free_compressed(&a);
            }
        }
        double p = 1.0 / (double)n, sd = sqrt((double)rounds * p * (1 - p));
        for (int64_t k = 0; k < total * n; k++) CHECK_CLOSE((double)hits[k], (double)rounds * p, 6.0 * sd);
        double pl = (double)r / (double)n, sdl = sqrt((double)rounds * pl * (1 - pl));
        for (int64_t i = 0; i < n; i++) CHECK_CLOSE((double)longer[i], (double)rounds * pl, 6.0 * sdl);
        free(hits);
        free(longer);
    }
}

/* One client's C(M) over many rounds: its mean tends to M (each entry within 6 standard errors, the per-draw variance
 * of entry e being (n - 1) m_e^2), and E|C(M) - M|^2 = (n - 1)|M|^2 within 6 standard errors of the sample mean. */
void test_compress_permk_is_unbiased_with_omega_n_minus_1(void) {
    int64_t dim = 6, n = 4, client = 2, total = dim * (dim + 1) / 2;
    const int draws = 20000;
    double *m = random_packed(dim, 77), *out = malloc((size_t)total * sizeof(double));
    double *mean = calloc((size_t)total, sizeof(double)), sum = 0, sum_squares = 0, mnorm = norm2(dim, m);
    for (int s = 0; s < draws; s++) {
        fednl_compressor c = permk(n, client, (uint64_t)s * 7919u + 3);
        compressed r = make_compressed(&c, dim);
        CHECK_STATUS(compress_into(&c, m, &r), FEDNL_OK);
        expand(&c, &r, out);
        for (int64_t e = 0; e < total; e++) {
            mean[e] += out[e] / draws;
            out[e] -= m[e];
        }
        double residual = norm2(dim, out);
        sum += residual;
        sum_squares += residual * residual;
        free_compressed(&r);
    }
    for (int64_t e = 0; e < total; e++) CHECK_CLOSE(mean[e], m[e], 6.0 * sqrt((double)(n - 1) * m[e] * m[e] / draws));
    double variance = sum / draws, spread = sqrt((sum_squares / draws - variance * variance) / draws);
    CHECK_CLOSE(variance, (double)(n - 1) * mnorm, 6.0 * spread);
    free(m);
    free(out);
    free(mean);
}

/* D < n and a client outside [0, n) are refused, naming the numbers, by every entry point. */
void test_compress_permk_rejects_more_clients_than_entries(void) {
    double m[3] = {1, 2, 3}, values[3];
    int32_t indices[3];
    int64_t count = -7, start;
    uint64_t work[8];
    fednl_compressor c = permk(4, 0, 1); /* d = 2: D = 3 < 4 */
    const char *expected = "compress: permk splits the D = 3 packed entries among n = 4 clients and needs 1 <= n <= D";
    CHECK_FAILURE(fednl_compress(&c, 2, m, indices, 3, values, 3, &count, work, 8), FEDNL_ERR_INVALID_ARGUMENT, expected);
    CHECK(count == -7);
    CHECK(fednl_compress_capacity(&c, 2) == -1 && fednl_compress_workspace(&c, 2) == -1);
    CHECK_FAILURE(fednl_compress_indices(&c, 2, indices, 3, &count, &start, work, 8), FEDNL_ERR_INVALID_ARGUMENT,
                  "compress_indices: permk splits the D = 3 packed entries among n = 4 clients and needs 1 <= n <= D");
    c = permk(0, 0, 1);
    CHECK_FAILURE(fednl_compress(&c, 2, m, indices, 3, values, 3, &count, work, 8), FEDNL_ERR_INVALID_ARGUMENT,
                  "compress: permk splits the D = 3 packed entries among n = 0 clients and needs 1 <= n <= D");
    c = permk(3, 3, 1);
    CHECK_FAILURE(fednl_compress(&c, 2, m, indices, 3, values, 3, &count, work, 8), FEDNL_ERR_INVALID_ARGUMENT,
                  "compress: permk client 3 is not in [0, 3)");
    c = permk(3, 2, 1);
    CHECK_STATUS(fednl_compress(&c, 2, m, indices, 1, values, 1, &count, work, 8), FEDNL_OK);
    CHECK(count == 1 && values[0] == 3.0 * m[indices[0]]);
}

/* The definition written out plainly: entry e of a call with seed s takes u = (draw >> 12) / 2^52 with draw the
 * (e + 1)-th output of splitmix64 started at the first output of splitmix64(s), and rounds |v| in [low, 2 low) up
 * when u < |v| / low - 1 (frexp and ldexp, every case alike, subnormals included). */
static uint64_t plain_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double plain_natural(double v, uint64_t seed, int64_t e) {
    if (v == 0.0 || !isfinite(v)) return v;
    uint64_t key = plain_splitmix64(&seed), draw = 0;
    for (int64_t q = 0; q <= e; q++) draw = plain_splitmix64(&key);
    int exponent;
    frexp(fabs(v), &exponent); /* |v| in [2^(exponent - 1), 2^exponent) */
    double low = ldexp(1.0, exponent - 1);
    double u = (double)(draw >> 12) * 0x1.0p-52, chance = fabs(v) / low - 1.0; /* both exact */
    double rounded = u < chance ? 2.0 * low : low;
    return v < 0 ? -rounded : rounded;
}

/* Natural compression is the plain definition above in every variant, so an entry's draw depends on its position and
 * the seed only: zeroing other entries (which draw nothing useful) leaves every other value as it was. */
void test_compress_natural_draws_follow_positions(void) {
    int64_t dim = 23, total = dim * (dim + 1) / 2;
    double *m = malloc((size_t)total * sizeof(double)), *v = malloc((size_t)total * sizeof(double)),
           *w = malloc((size_t)total * sizeof(double));
    test_rng rng = {77};
    for (int64_t e = 0; e < total; e++) {
        double x = test_normal(&rng) * pow(2.0, (double)(int)(40 * test_uniform(&rng)) - 20);
        if (e % 17 == 3) x = -0x1.3p-1060; /* subnormal */
        else if (e % 19 == 4) x = 0x1p-1074; /* the smallest subnormal: a power of two */
        else if (e % 23 == 5) x = -8.0;
        m[e] = x;
    }
    int64_t count;
    fednl_compressor c = {FEDNL_COMPRESSOR_NATURAL, 0, 0, 912, 0};
    CHECK_STATUS(fednl_compress(&c, dim, m, NULL, 0, v, total, &count, NULL, 0), FEDNL_OK);
    for (int64_t e = 0; e < total; e++) CHECK(v[e] == plain_natural(m[e], 912, e));
    for (int64_t e = 0; e < total; e += 3) m[e] = 0.0;
    CHECK_STATUS(fednl_compress(&c, dim, m, NULL, 0, w, total, &count, NULL, 0), FEDNL_OK);
    for (int64_t e = 0; e < total; e++) CHECK(e % 3 == 0 ? w[e] == 0.0 : w[e] == v[e]);
    free(m);
    free(v);
    free(w);
}

/* The lanes' rounding decisions are independent Bernoulli draws with the entry's chance: with every entry 1.25 (up
 * with chance 1/4) over 400 seeds of a 40 x 40 matrix, the up-frequency at each position mod 8 (a lane of either
 * vector width), the frequency of both neighbours up (1/16) and of up at e and e + 8 (1/16) are within 5 standard
 * errors; subnormal entries are unbiased too. */
void test_compress_natural_lanes_are_independent(void) {
    int64_t dim = 40, total = dim * (dim + 1) / 2;
    double *m = malloc((size_t)total * sizeof(double)), *v = malloc((size_t)total * sizeof(double));
    for (int64_t e = 0; e < total; e++) m[e] = e % 5 == 4 ? 0x1.4p-1066 : 1.25; /* 1.25 * 2^-1066 is subnormal */
    double up[8] = {0}, trials[8] = {0}, pairs = 0, both = 0, strided = 0, strided_both = 0, subnormal_mean = 0;
    int64_t subnormals = 0, count;
    for (uint64_t s = 0; s < 400; s++) {
        fednl_compressor c = {FEDNL_COMPRESSOR_NATURAL, 0, 0, 1000 + s, 0};
        CHECK_STATUS(fednl_compress(&c, dim, m, NULL, 0, v, total, &count, NULL, 0), FEDNL_OK);
        for (int64_t e = 0; e < total; e++) {
            if (e % 5 == 4) {
                CHECK(v[e] == 0x1p-1066 || v[e] == 0x1p-1065);
                subnormal_mean += ldexp(v[e], 1066);
                subnormals++;
                continue;
            }
            CHECK(v[e] == 1.0 || v[e] == 2.0);
            up[e % 8] += v[e] == 2.0;
            trials[e % 8] += 1;
            if (e + 1 < total && (e + 1) % 5 != 4) {
                pairs += 1;
                both += v[e] == 2.0 && v[e + 1] == 2.0;
            }
            if (e + 8 < total && (e + 8) % 5 != 4) {
                strided += 1;
                strided_both += v[e] == 2.0 && v[e + 8] == 2.0;
            }
        }
    }
    for (int l = 0; l < 8; l++) CHECK_CLOSE(up[l] / trials[l], 0.25, 5.0 * sqrt(0.25 * 0.75 / trials[l]));
    CHECK_CLOSE(both / pairs, 0.0625, 5.0 * sqrt(0.0625 * 0.9375 / pairs));
    CHECK_CLOSE(strided_both / strided, 0.0625, 5.0 * sqrt(0.0625 * 0.9375 / strided));
    CHECK_CLOSE(subnormal_mean / (double)subnormals, 1.25, 5.0 * sqrt(0.25 * 0.75 / (double)subnormals));
    free(m);
    free(v);
}

/* RandK's indices are Floyd's algorithm on the seed's xoshiro256** stream (random.h), drawn plainly here with a flag
 * per entry: for j = D - K .. D - 1, t uniform in [0, j]; take t, or j when t is taken. Matrices whose D is below,
 * at and above multiples of 64, K from 1 to D, so that j's run starts and ends inside and at the edges of words. */
void test_compress_randk_matches_plain_floyd(void) {
    const int64_t dims[] = {1, 3, 10, 11, 15, 16, 69, 100};
    for (size_t q = 0; q < sizeof dims / sizeof dims[0]; q++) {
        int64_t dim = dims[q], total = dim * (dim + 1) / 2;
        char *taken = malloc((size_t)total);
        double *m = random_packed(dim, 70 + q);
        int64_t ks[] = {1, 2, total / 3, total / 2, total - 64, total - 63, total - 1, total};
        for (size_t r = 0; r < sizeof ks / sizeof ks[0]; r++) {
            int64_t k = ks[r];
            if (k < 1 || k > total) continue;
            for (uint64_t seed = 0; seed < 5; seed++) {
                fednl_compressor c = {FEDNL_COMPRESSOR_RANDK, 0, k, 1000 * seed + (uint64_t)q, 0};
                fednl_random rng = fednl_random_seed(c.seed);
                memset(taken, 0, (size_t)total);
                for (int64_t j = total - k; j < total; j++) {
                    int64_t t = (int64_t)fednl_random_below(&rng, (uint64_t)j + 1);
                    taken[taken[t] ? j : t] = 1;
                }
                compressed out = make_compressed(&c, dim);
                CHECK_STATUS(compress_into(&c, m, &out), FEDNL_OK);
                CHECK(out.count == k);
                int64_t at = 0;
                for (int64_t e = 0; e < total && at <= out.count; e++)
                    if (taken[e]) {
                        CHECK(at < out.count && out.indices[at] == e);
                        at++;
                    }
                CHECK(at == out.count);
                free_compressed(&out);
            }
        }
        free(taken);
        free(m);
    }
}
