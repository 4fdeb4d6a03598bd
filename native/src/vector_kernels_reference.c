/* vector_kernels_reference.c - plain scalar C; the definition every other variant is tested against. */
#include "internal.h"
#include "compressors/compressor.h"

#include <string.h>

/* The vector variants' association, written out: entry k goes to lane k mod 4 while whole groups of four last;
 * the lanes meet as (l0 + l2) + (l1 + l3); the tail follows one by one. Every variant then has the same bits. */
static double lanes_total(const double lane[4]) { return (lane[0] + lane[2]) + (lane[1] + lane[3]); }

static double sparse_dot(int64_t nnz, const int32_t *idx, const double *val, const double *x) {
    double lane[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t k = 0;
    for (; k + 4 <= nnz; k += 4)
        for (int l = 0; l < 4; l++) lane[l] = fma(val[k + l], x[idx[k + l]], lane[l]);
    double sum = lanes_total(lane);
    for (; k < nnz; k++) sum = fma(val[k], x[idx[k]], sum);
    return sum;
}

static void sparse_axpy(int64_t nnz, double alpha, const int32_t *idx, const double *val, double *y) {
    for (int64_t k = 0; k < nnz; k++) y[idx[k]] = fma(alpha, val[k], y[idx[k]]);
}

#include "loss_step_scalar.h"

static void loss_block(int64_t count, const double *z, const double *labels, double inv_m, double linear[FEDNL_LOSS_LANES],
                       double product[FEDNL_LOSS_LANES], double *coef, double *weights) {
    for (int64_t j = 0; j < count; j++) {
        double factor, term;
        ls_row(z[j], labels[j], inv_m, &factor, &term, &coef[j], &weights[j]);
        product[j & 7] *= factor;
        linear[j & 7] += term;
    }
}

static void sparse_rank1_packed(int64_t dim, int64_t nnz, double alpha, const int32_t *idx, const double *val,
                                double *packed) {
    for (int64_t p = 0; p < nnz; p++) {
        double *row = packed + fednl_packed_row_base(dim, idx[p]);
        double scale = alpha * val[p];
        for (int64_t q = p; q < nnz; q++) row[idx[q]] += scale * val[q];
    }
}

static double packed_sum_squares(int64_t dim, const double *packed) {
    /* 2 * (all packed squares) - (diagonal squares): every off-diagonal entry counts twice. The result is at
     * least half the first term, so the subtraction loses no precision. */
    int64_t total = dim * (dim + 1) / 2, k = 0;
    double first[4] = {0, 0, 0, 0}, second[4] = {0, 0, 0, 0}, lane[4], diagonal = 0.0;
    for (; k + 8 <= total; k += 8) /* the vector variants' two accumulators of four lanes */
        for (int l = 0; l < 4; l++) {
            first[l] = fma(packed[k + l], packed[k + l], first[l]);
            second[l] = fma(packed[k + 4 + l], packed[k + 4 + l], second[l]);
        }
    for (int l = 0; l < 4; l++) lane[l] = first[l] + second[l];
    double all = lanes_total(lane);
    for (; k < total; k++) all = fma(packed[k], packed[k], all);
    for (int64_t i = 0; i < dim; i++) {
        double v = packed[fednl_packed_row_offset(dim, i)];
        diagonal = fma(v, v, diagonal);
    }
    return 2.0 * all - diagonal;
}

static void plan_gather(int64_t groups, const int32_t *length, const int32_t *entry, const double *scale,
                        const uint8_t *sample, int32_t width, const double *pair_value, const double *w, double *out) {
    const uint16_t *sample16 = (const uint16_t *)(const void *)sample;
    const int32_t *sample32 = (const int32_t *)(const void *)sample;
    for (int64_t g = 0; g < groups; g++) {
        double even[4] = {0, 0, 0, 0}, odd[4] = {0, 0, 0, 0};
        for (int64_t q = 0; q < length[g]; q++) {
            double *sum = (q & 1) ? odd : even;
            for (int l = 0; l < 4; l++) {
                int64_t row = width == 2 ? sample16[4 * q + l] : sample32[4 * q + l];
                sum[l] += pair_value != NULL ? w[row] * pair_value[4 * q + l] : w[row];
            }
        }
        for (int l = 0; l < 4; l++)
            if (entry[l] >= 0) out[entry[l]] = scale[l] * (even[l] + odd[l]);
        sample16 += 4 * length[g];
        sample32 += 4 * length[g];
        if (pair_value != NULL) pair_value += 4 * length[g];
        entry += 4;
        scale += 4;
    }
}

/* Set bits of a word without a POPCNT instruction (the reference variant runs on any x86-64). */
static inline uint64_t popcount_portable(uint64_t v) {
    v = v - ((v >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (v * 0x0101010101010101ull) >> 56;
}

static void randk_gather(const int32_t *indices, int64_t count, const uint64_t *pattern_bits, const int32_t *rank,
                         const double *m, double *shift, double alpha, double scale, double *values) {
    FEDNL_RANDK_GATHER_BODY(popcount_portable)
}

/* The sum in eight lanes (t mod 8, by fma) over whole blocks of eight, the lanes added pairwise as a horizontal sum
 * of two 4-lane vectors adds them, then the tail by fma in order: the AVX2 loop's order, so both give the same bits. */
static double difference_squares(int64_t n, const double *h, const double *shift, double *m) {
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t t = 0;
    for (; t + 8 <= n; t += 8)
        for (int l = 0; l < 8; l++) {
            m[t + l] = h[t + l] - shift[t + l];
            lanes[l] = fma(m[t + l], m[t + l], lanes[l]);
        }
    double s0 = lanes[0] + lanes[4], s1 = lanes[1] + lanes[5], s2 = lanes[2] + lanes[6], s3 = lanes[3] + lanes[7];
    double sum = (s0 + s2) + (s1 + s3);
    return fednl_difference_squares_tail(t, n, h, shift, m, sum);
}

/* The separate passes fused kernels are held to: difference_squares, fednl_entry_keys, fednl_top_field. */
static double difference_keys(int64_t n, const double *h, const double *shift, int64_t dim, const int32_t *diagonal,
                              double *m, double *keys, int64_t *top, double *key_sum) {
    double sum = difference_squares(n, h, shift, m);
    fednl_entry_keys(dim, n, diagonal, m, keys);
    *top = fednl_top_field(n, keys);
    if (key_sum != NULL) *key_sum = fednl_key_sum(keys, n);
    return sum;
}

static void count_fields(int64_t n, const double *keys, int shift, int64_t top, int64_t counts[32]) {
    fednl_count_fields_tail(0, n, keys, shift, top, counts);
}

static int64_t collect_field(int64_t n, const double *in, int shift, uint64_t mask, int64_t bucket, double *out) {
    return fednl_collect_field_tail(0, n, in, shift, mask, bucket, out, 0);
}

static int64_t collect_positions(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                                 int32_t *positions) {
    /* keep what lies above the threshold and the first k - above keys equal to it, without branches */
    int64_t ties_left = k - above, count = 0;
    for (int64_t t = 0; t < n && count < k; t++) { /* positions holds k: stop once it is full */
        /* bitwise, not logical, operators: no branch to mispredict on the keys */
        int64_t tie = (int64_t)(keys[t] == threshold) & (int64_t)(ties_left > 0);
        positions[count] = (int32_t)t;
        count += (int64_t)(keys[t] > threshold) | tie;
        ties_left -= tie;
    }
    return count;
}

static int64_t collect_entries(int64_t n, const double *keys, double threshold, int64_t above, int64_t k,
                               const int32_t *offsets, const double *m, double alpha, double *shift, int32_t *indices,
                               double *values) {
    return fednl_collect_entries_tail(0, n, keys, threshold, k - above, k, 0, offsets, m, alpha, shift, indices, values);
}

static void dense_step(const fednl_dense_job *job, fednl_dense_sums *sums) {
    int64_t rows = job->rows, dim = job->dim;
    const double *a = job->a;
    memset(sums, 0, sizeof *sums);
    for (int64_t i = 0; i < dim; i++) {
        int64_t row = fednl_packed_row_offset(dim, i);
        for (int64_t t = 0; t < dim - i; t++) {
            int64_t e = row + t, k = i + t;
            double h = 0.0;
            for (int64_t j = 0; j < rows; j++) h = fma(job->weights[j] * a[j * dim + i], a[j * dim + k], h);
            if (t == 0) h += job->lambda;
            if (job->mode == FEDNL_DENSE_HESSIAN) {
                job->out[e] = h;
                continue;
            }
            double m = h - job->shift[e];
            sums->squares[t % 8] = fma(m, m, sums->squares[t % 8]);
            if (t == 0) sums->diagonal = fma(m, m, sums->diagonal);
            if (job->mode == FEDNL_DENSE_DIFFERENCE) {
                job->out[e] = m;
                continue;
            }
            double s = job->mode == FEDNL_DENSE_NATURAL ? fednl_natural_entry(m, fednl_counter_draw(job->key, (uint64_t)e)) : m;
            job->out[e] = s;
            job->shift[e] = fma(job->alpha, s, job->shift[e]);
            if (job->remaining) {
                double r = fma(-job->alpha, s, m);
                sums->remaining[t % 8] = fma(r, r, sums->remaining[t % 8]);
                if (t == 0) sums->remaining_diagonal = fma(r, r, sums->remaining_diagonal);
            }
        }
    }
}

static void dense_margins(int64_t rows, int64_t cols, const double *a, const double *x, const double *labels, double *z) {
    int64_t whole = cols - cols % 8;
    for (int64_t j = 0; j < rows; j++) {
        const double *row = a + j * cols;
        double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t i = 0; i < whole; i += 8)
            for (int l = 0; l < 8; l++) lanes[l] = fma(row[i + l], x[i + l], lanes[l]);
        double s0 = lanes[0] + lanes[4], s1 = lanes[1] + lanes[5], s2 = lanes[2] + lanes[6], s3 = lanes[3] + lanes[7];
        z[j] = fednl_margin_tail(row, x, whole, cols, (s0 + s2) + (s1 + s3), labels[j]);
    }
}

static void dense_gradient(int64_t rows, int64_t cols, const double *a, const double *coef, double lambda, const double *x,
                           double *grad) {
    for (int64_t i = 0; i < cols; i++) grad[i] = lambda * x[i];
    for (int64_t j = 0; j < rows; j++)
        for (int64_t i = 0; i < cols; i++) grad[i] = fma(coef[j], a[j * cols + i], grad[i]);
}

const fednl_vector_kernels fednl_vector_kernels_reference = {
    sparse_dot,
    sparse_axpy,
    loss_block,
    sparse_rank1_packed,
    packed_sum_squares,
    plan_gather,
    randk_gather,
    difference_squares,
    difference_keys,
    count_fields,
    collect_field,
    collect_positions,
    collect_entries,
    fednl_natural,
    dense_step,
    dense_margins,
    dense_gradient,
};
