/* pattern_step.c - one client's FedNL shift step on its Hessian pattern: M = H - shift, |M|_F, S = C(M) and
 * shift += alpha S, where H, M and the shift hold only the pattern's entries (everything else is zero, always:
 * the Hessian cannot leave the pattern, so neither can M, S or the shift). Compression therefore touches the
 * pattern's P entries instead of all D, and the selecting compressors choose among P keys. */
#include "../compressors/compressor.h"
#include "plan.h"
#include "shift_step.h"

#include <string.h>

static int64_t packed_length(int64_t dim) { return dim * (dim + 1) / 2; }

static int is_dense_kind(int32_t kind) { return kind == FEDNL_COMPRESSOR_IDENTICAL || kind == FEDNL_COMPRESSOR_NATURAL; }

FEDNL_API int64_t fednl_pattern_step_workspace(const fednl_compressor *c, int64_t dim, int64_t pattern_length) {
    if (c == NULL || dim < 1 || dim > 65535 || pattern_length < 1 || pattern_length > packed_length(dim)) return -1;
    int64_t k = c->k < pattern_length ? c->k : pattern_length;
    switch (c->kind) {
    case FEDNL_COMPRESSOR_PERMK: return c->clients >= 1 ? fednl_permk_workspace(packed_length(dim), c->clients) : -1;
    case FEDNL_COMPRESSOR_TOPK: /* keys, scratch, positions */
        return pattern_length + FEDNL_TOPK_SCRATCH_WORDS(pattern_length) + (k + 1) / 2;
    case FEDNL_COMPRESSOR_TOPLEK: /* ... and the heap */
        return pattern_length + FEDNL_TOPK_SCRATCH_WORDS(pattern_length) + k + 1;
    case FEDNL_COMPRESSOR_RANDK: return (packed_length(dim) + 63) / 64; /* the index bitmap */
    default: return 0;
    }
}

/* First position whose offset is >= e (offsets ascending). */
static int64_t lower_bound(const int32_t *offsets, int64_t n, int64_t e) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (offsets[mid] < e) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int64_t offset_at(const int32_t *offsets, int64_t t) { return offsets != NULL ? offsets[t] : t; }

/* The first position >= t whose offset is >= e: a galloping search, so a walk over ascending indices costs the
 * logarithm of each gap rather than the gap. */
static int64_t advance(const int32_t *offsets, int64_t n, int64_t t, int64_t e) {
    if (offsets == NULL) return e < n ? (e > t ? e : t) : n;
    if (t >= n || offsets[t] >= e) return t;
    int64_t below = t, step = 1; /* offsets[below] < e */
    while (below + step < n && offsets[below + step] < e) {
        below += step;
        step *= 2;
    }
    int64_t end = below + step < n ? below + step : n;
    return below + 1 + lower_bound(offsets + below + 1, end - below - 1, e);
}

/* RandSeqK: the window [first, first + K) wraps to [0, wrapped); its indices list the wrapped part first. The
 * pattern entries inside are two contiguous runs of positions, found by two binary searches. */
static void gather_window(const int32_t *offsets, int64_t n, int64_t total, const double *m, double *shift, double alpha,
                          double scale, int64_t first, int64_t k, double *values) {
    memset(values, 0, (size_t)k * sizeof *values);
    int64_t wrapped = first + k > total ? first + k - total : 0;
    int64_t runs[2][3] = {{0, wrapped, 0}, {first, first + k - wrapped, wrapped}}; /* from, to, slot of from */
    for (int r = 0; r < 2; r++) {
        int64_t from = runs[r][0], to = runs[r][1], slot = runs[r][2];
        for (int64_t t = advance(offsets, n, 0, from); t < n && offset_at(offsets, t) < to; t++) {
            double kept = scale * m[t];
            values[slot + offset_at(offsets, t) - from] = kept;
            shift[t] += alpha * kept;
        }
    }
}

/* Sum of squares of the symmetric matrix behind pattern values v, given all = the sum of their squares: off-diagonal
 * entries count twice. */
static double pattern_sum_squares(const fednl_step_pattern *p, const double *v, double all) {
    double diag = 0.0;
    for (int64_t i = 0; i < p->dim; i++) {
        int64_t at = p->diagonal != NULL ? p->diagonal[i] : fednl_packed_row_offset(p->dim, i);
        diag += v[at] * v[at];
    }
    return 2.0 * all - diag; /* at least half of 2 * all, so no precision is lost */
}

void fednl_shift_step_run(const fednl_compressor *c, const fednl_step_pattern *p, double *difference,
                          int difference_formed, double *shift, double alpha, double *difference_norm,
                          double *remaining_norm, int32_t *indices, double *values, int64_t *count, uint64_t *work) {
    const fednl_vector_kernels *kernels = fednl_active_kernels();
    int64_t dim = p->dim, n = p->n, total = packed_length(dim);
    const int32_t *offsets = p->offsets;
    double *m = difference;
    int selecting = c->kind == FEDNL_COMPRESSOR_TOPK || c->kind == FEDNL_COMPRESSOR_TOPLEK;
    /* TopK and TopLEK form their keys, largest exponent field (and TopLEK its key sum) in the same pass as M */
    double *keys = (double *)work, *scratch = selecting ? keys + n : NULL, key_sum = 0.0;
    int32_t *histogram = selecting ? (int32_t *)(scratch + n) : NULL, *positions = selecting ? histogram + 4 * 2048 : NULL;
    int64_t top = 0;
    if (!difference_formed) {
        double all = selecting ? kernels->difference_keys(n, difference, shift, dim, p->diagonal, m, keys, &top,
                                                          c->kind == FEDNL_COMPRESSOR_TOPLEK ? &key_sum : NULL)
                               : kernels->difference_squares(n, difference, shift, m);
        *difference_norm = sqrt(pattern_sum_squares(p, m, all));
    }

    fednl_random rng = fednl_random_seed(c->seed);
    int64_t k = c->k < total ? c->k : total, written = 0, start = 0;
    double scale = (double)total / (double)k;
    switch (c->kind) {
    case FEDNL_COMPRESSOR_IDENTICAL:
    case FEDNL_COMPRESSOR_NATURAL:
        /* values in pattern order; the pattern is the index list */
        if (c->kind == FEDNL_COMPRESSOR_IDENTICAL) memcpy(values, m, (size_t)n * sizeof *values);
        else kernels->natural(n, m, fednl_counter_key(c->seed), offsets, values);
        for (int64_t t = 0; t < n; t++) shift[t] += alpha * values[t];
        if (indices != NULL)
            for (int64_t t = 0; t < n; t++) indices[t] = (int32_t)offset_at(offsets, t);
        written = n;
        break;
    case FEDNL_COMPRESSOR_TOPK: /* positions, values and the shift update in one pass */
        written = fednl_topk_entries_below(n, k, keys, top, scratch, histogram, offsets, m, alpha, shift, indices, values);
        break;
    case FEDNL_COMPRESSOR_TOPLEK: {
        written = fednl_toplek_below(n, k, total, keys, key_sum, top, scratch, histogram, &rng, positions,
                                     positions + (k < n ? k : n));
        for (int64_t t = 0; t < written; t++) {
            int32_t at = positions[t];
            indices[t] = (int32_t)offset_at(offsets, at);
            values[t] = m[at];
            shift[at] += alpha * values[t];
        }
        break;
    }
    case FEDNL_COMPRESSOR_RANDK:
    case FEDNL_COMPRESSOR_PERMK: {
        /* the chosen indices, then their pattern positions by popcount */
        if (c->kind == FEDNL_COMPRESSOR_RANDK) {
            written = fednl_randk_indices(total, k, &rng, indices, work);
        } else {
            written = fednl_permk_indices(total, c->clients, c->client, &rng, indices, work);
            scale = (double)c->clients;
        }
        kernels->randk_gather(indices, written, p->bits, p->rank, m, shift, alpha, scale, values);
        break;
    }
    case FEDNL_COMPRESSOR_RANDSEQK:
        written = fednl_randseqk_indices(total, k, &rng, indices, &start);
        gather_window(offsets, n, total, m, shift, alpha, scale, start, written, values);
        break;
    }
    *count = written;

    if (remaining_norm != NULL) {
        /* |M - alpha S|_F: apply the step to M in place, then measure it again */
        if (is_dense_kind(c->kind)) {
            for (int64_t t = 0; t < n; t++) m[t] -= alpha * values[t];
        } else {
            int64_t t = 0;
            for (int64_t q = 0; q < written; q++) {
                t = advance(offsets, n, t, indices[q]);
                if (t < n && offset_at(offsets, t) == indices[q]) m[t] -= alpha * values[q];
            }
        }
        double rest = 0.0;
        for (int64_t t = 0; t < n; t++) rest += m[t] * m[t];
        *remaining_norm = sqrt(pattern_sum_squares(p, m, rest));
    }
}

/* The lengths of the step's arrays: difference and shift hold the pattern's P entries; the outputs hold what the
 * compressor writes, P values for the dense kinds (and P indices when asked for) and min(K, D) otherwise. */
static int32_t check_lengths(const fednl_compressor *c, const fednl_plan_header *h, int64_t difference_length,
                             int64_t shift_length, const int32_t *indices, int64_t indices_capacity,
                             int64_t values_capacity) {
    const char *f = "pattern_shift_step";
    int64_t n = h->pattern_length, total = packed_length(h->cols);
    int64_t written = is_dense_kind(c->kind) ? n : fednl_sparse_budget(c, total);
    int32_t status = fednl_check_length(f, "difference_length", difference_length, n);
    if (status == FEDNL_OK) status = fednl_check_length(f, "shift_length", shift_length, n);
    if (status == FEDNL_OK && indices != NULL) status = fednl_check_length(f, "indices_capacity", indices_capacity, written);
    if (status == FEDNL_OK) status = fednl_check_length(f, "values_capacity", values_capacity, written);
    return status;
}

FEDNL_API int32_t fednl_pattern_shift_step(const fednl_compressor *c, const uint64_t *plan, int64_t plan_words,
                                           double *difference, int64_t difference_length, double *shift,
                                           int64_t shift_length, double alpha, double *difference_norm,
                                           double *remaining_norm, int32_t *indices, int64_t indices_capacity,
                                           double *values, int64_t values_capacity, int64_t *count, uint64_t *work,
                                           int64_t work_len) {
    const fednl_plan_header *h = fednl_plan_open(plan, plan_words, "pattern_shift_step");
    if (h == NULL) return FEDNL_ERR_INVALID_ARGUMENT;
    int64_t dim = h->cols, n = h->pattern_length, total = packed_length(dim);
    if (c == NULL || c->kind < FEDNL_COMPRESSOR_IDENTICAL || c->kind > FEDNL_COMPRESSOR_PERMK ||
        (!is_dense_kind(c->kind) && c->kind != FEDNL_COMPRESSOR_PERMK && c->k < 1))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "pattern_shift_step: null compressor, unknown kind or K < 1");
    if (c->kind == FEDNL_COMPRESSOR_PERMK && fednl_check_permk(c, total, "pattern_shift_step") != FEDNL_OK)
        return FEDNL_ERR_INVALID_ARGUMENT;
    if (difference == NULL || shift == NULL || difference_norm == NULL || values == NULL || count == NULL ||
        (!is_dense_kind(c->kind) && indices == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "pattern_shift_step: a required buffer is null");
    int32_t status = check_lengths(c, h, difference_length, shift_length, indices, indices_capacity, values_capacity);
    if (status != FEDNL_OK) return status;
    if (!isfinite(alpha)) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "pattern_shift_step: alpha is not finite");
    int64_t needed = fednl_pattern_step_workspace(c, dim, n);
    if (needed > 0 && (work == NULL || work_len < needed))
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "pattern_shift_step: workspace of %lld words, need %lld",
                          (long long)work_len, (long long)needed);

    fednl_step_pattern pattern = {dim, n, fednl_plan_pattern(plan, h), fednl_plan_diagonal(plan, h),
                                   h->bits_at != 0 ? plan + h->bits_at : NULL, (const int32_t *)(plan + h->rank_at)};
    fednl_shift_step_run(c, &pattern, difference, 0, shift, alpha, difference_norm, remaining_norm, indices, values, count,
                         work);
    return FEDNL_OK;
}
