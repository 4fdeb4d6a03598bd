/* pattern_step.c - one client's FedNL shift step on its Hessian pattern: M = H - shift, |M|_F, S = C(M) and
 * shift += alpha S, where H, M and the shift hold only the pattern's entries (everything else is zero, always:
 * the Hessian cannot leave the pattern, so neither can M, S or the shift). Compression therefore touches the
 * pattern's P entries instead of all D, and the selecting compressors choose among P keys. */
#include "../compressors/compressor.h"
#include "plan.h"

#include <string.h>

static int64_t packed_length(int64_t dim) { return dim * (dim + 1) / 2; }

static int is_dense_kind(int32_t kind) { return kind == FEDNL_COMPRESSOR_IDENTICAL || kind == FEDNL_COMPRESSOR_NATURAL; }

FEDNL_API int64_t fednl_pattern_step_workspace(const fednl_compressor *c, int64_t dim, int64_t pattern_length) {
    if (c == NULL || dim < 1 || dim > 65535 || pattern_length < 1 || pattern_length > packed_length(dim)) return -1;
    int64_t k = c->k < pattern_length ? c->k : pattern_length;
    switch (c->kind) {
    case FEDNL_COMPRESSOR_TOPK: return 2 * pattern_length + (k + 1) / 2;   /* keys, scratch, positions */
    case FEDNL_COMPRESSOR_TOPLEK: return 2 * pattern_length + k + 1;      /* ... and the heap */
    case FEDNL_COMPRESSOR_RANDK: return (packed_length(dim) + 63) / 64;  /* the index bitmap */
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

/* The first position >= t whose offset is >= e: a few linear steps, then a binary search for long jumps. */
static int64_t advance(const int32_t *offsets, int64_t n, int64_t t, int64_t e) {
    if (offsets == NULL) return e < n ? (e > t ? e : t) : n;
    for (int step = 0; step < 8; step++, t++)
        if (t >= n || offsets[t] >= e) return t;
    return t + lower_bound(offsets + t, n - t, e);
}

/* values[c] = scale * M at each of the count ascending packed indices (zero off the pattern); shift moves by alpha
 * times the kept values on the pattern. Both lists ascend, so one merge walks them. */
static void gather_indices(const int32_t *offsets, int64_t n, const double *m, double *shift, double alpha, double scale,
                           const int32_t *indices, int64_t count, double *values) {
    int64_t t = 0;
    for (int64_t c = 0; c < count; c++) {
        int64_t e = indices[c];
        t = advance(offsets, n, t, e);
        if (t < n && offset_at(offsets, t) == e) {
            values[c] = scale * m[t];
            shift[t] += alpha * values[c];
        } else {
            values[c] = 0.0;
        }
    }
}

/* Sum of squares of the symmetric matrix behind pattern values v: off-diagonal entries count twice. */
static double pattern_sum_squares(const uint64_t *plan, const fednl_plan_header *h, const double *v, double all) {
    const int32_t *diagonal = fednl_plan_diagonal(plan, h);
    double diag = 0.0;
    for (int64_t i = 0; i < h->cols; i++) diag += v[diagonal[i]] * v[diagonal[i]];
    return 2.0 * all - diag; /* at least half of 2 * all, so no precision is lost */
}

FEDNL_API int32_t fednl_pattern_shift_step(const fednl_compressor *c, const uint64_t *plan, int64_t plan_words,
                                           double *difference, double *shift, double alpha, double *difference_norm,
                                           double *remaining_norm, int32_t *indices, double *values, int64_t *count,
                                           uint64_t *work, int64_t work_len) {
    const fednl_plan_header *h = fednl_plan_open(plan, plan_words, "pattern_shift_step");
    if (h == NULL) return FEDNL_ERR_INVALID_ARGUMENT;
    int64_t dim = h->cols, n = h->pattern_length, total = packed_length(dim);
    if (c == NULL || c->kind < FEDNL_COMPRESSOR_IDENTICAL || c->kind > FEDNL_COMPRESSOR_NATURAL ||
        (!is_dense_kind(c->kind) && c->k < 1))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "pattern_shift_step: null compressor, unknown kind or K < 1");
    if (difference == NULL || shift == NULL || difference_norm == NULL || values == NULL || count == NULL ||
        (!is_dense_kind(c->kind) && indices == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "pattern_shift_step: a required buffer is null");
    if (!isfinite(alpha)) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "pattern_shift_step: alpha is not finite");
    int64_t needed = fednl_pattern_step_workspace(c, dim, n);
    if (needed > 0 && (work == NULL || work_len < needed))
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "pattern_shift_step: workspace of %lld words, need %lld",
                          (long long)work_len, (long long)needed);

    const fednl_vector_kernels *kernels = fednl_active_kernels();
    const int32_t *offsets = fednl_plan_pattern(plan, h);
    double *m = difference;
    double all = kernels->difference_squares(n, difference, shift, m);
    *difference_norm = sqrt(pattern_sum_squares(plan, h, m, all));

    fednl_random rng = fednl_random_seed(c->seed);
    int64_t k = c->k < total ? c->k : total, written = 0, start = 0;
    double scale = (double)total / (double)k;
    switch (c->kind) {
    case FEDNL_COMPRESSOR_IDENTICAL:
    case FEDNL_COMPRESSOR_NATURAL:
        /* values in pattern order; the pattern is the index list */
        if (c->kind == FEDNL_COMPRESSOR_IDENTICAL) memcpy(values, m, (size_t)n * sizeof *values);
        else fednl_natural(n, m, &rng, values);
        for (int64_t t = 0; t < n; t++) shift[t] += alpha * values[t];
        if (indices != NULL)
            for (int64_t t = 0; t < n; t++) indices[t] = (int32_t)offset_at(offsets, t);
        written = n;
        break;
    case FEDNL_COMPRESSOR_TOPK:
    case FEDNL_COMPRESSOR_TOPLEK: {
        double *keys = (double *)work, *scratch = keys + n;
        int32_t *positions = (int32_t *)(scratch + n);
        fednl_entry_keys(dim, n, offsets, m, keys);
        written = c->kind == FEDNL_COMPRESSOR_TOPK
                      ? fednl_topk_positions(n, k, keys, scratch, positions)
                      : fednl_toplek_positions(n, k, total, keys, scratch, &rng, positions,
                                               positions + (k < n ? k : n));
        for (int64_t t = 0; t < written; t++) {
            int32_t p = positions[t];
            indices[t] = (int32_t)offset_at(offsets, p);
            values[t] = m[p];
            shift[p] += alpha * values[t];
        }
        break;
    }
    case FEDNL_COMPRESSOR_RANDK:
    case FEDNL_COMPRESSOR_RANDSEQK:
        written = c->kind == FEDNL_COMPRESSOR_RANDK ? fednl_randk_indices(total, k, &rng, indices, work)
                                                     : fednl_randseqk_indices(total, k, &rng, indices, &start);
        gather_indices(offsets, n, m, shift, alpha, scale, indices, written, values);
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
        *remaining_norm = sqrt(pattern_sum_squares(plan, h, m, rest));
    }
    return FEDNL_OK;
}
