/* compress.c - the public compressor entry points on a whole packed matrix: argument checks, workspace sizes and
 * dispatch by kind. (A client's round step works on its Hessian pattern instead: hessian/pattern_step.c.) */
#include "compressors/compressor.h"

#include <string.h>

static int64_t packed_length(int64_t dim) { return dim * (dim + 1) / 2; }

static int is_dense_kind(int32_t kind) { return kind == FEDNL_COMPRESSOR_IDENTICAL || kind == FEDNL_COMPRESSOR_NATURAL; }

static int64_t budget(const fednl_compressor *c, int64_t dim) { return fednl_sparse_budget(c, packed_length(dim)); }

static int32_t check_compressor(const fednl_compressor *c, int64_t dim, const char *function) {
    if (c == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: compressor is null", function);
    if (dim < 1 || dim > 65535)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: dim must be in [1, 65535], got %lld", function, (long long)dim);
    if (c->kind < FEDNL_COMPRESSOR_IDENTICAL || c->kind > FEDNL_COMPRESSOR_PERMK)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: compressor kind %d is not a fednl_compressor_kind", function,
                          (int)c->kind);
    if (c->kind == FEDNL_COMPRESSOR_PERMK) return fednl_check_permk(c, packed_length(dim), function);
    if (!is_dense_kind(c->kind) && c->k < 1)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: K must be >= 1, got %lld", function, (long long)c->k);
    return FEDNL_OK;
}

FEDNL_API int64_t fednl_compress_workspace(const fednl_compressor *c, int64_t dim) {
    if (check_compressor(c, dim, "compress_workspace") != FEDNL_OK) return -1;
    switch (c->kind) {
    case FEDNL_COMPRESSOR_TOPK: /* keys, scratch */
        return packed_length(dim) + FEDNL_TOPK_SCRATCH_WORDS(packed_length(dim));
    case FEDNL_COMPRESSOR_TOPLEK: /* ... and a heap */
        return packed_length(dim) + FEDNL_TOPK_SCRATCH_WORDS(packed_length(dim)) + (budget(c, dim) + 1) / 2;
    case FEDNL_COMPRESSOR_RANDK: return (packed_length(dim) + 63) / 64;
    case FEDNL_COMPRESSOR_PERMK: return fednl_permk_workspace(packed_length(dim), c->clients);
    default: return 0;
    }
}

/* Entries fednl_compress writes at most, for a checked compressor. */
static int64_t capacity_checked(const fednl_compressor *c, int64_t dim) {
    return is_dense_kind(c->kind) ? packed_length(dim) : budget(c, dim);
}

FEDNL_API int64_t fednl_compress_capacity(const fednl_compressor *c, int64_t dim) {
    if (check_compressor(c, dim, "compress_capacity") != FEDNL_OK) return -1;
    return capacity_checked(c, dim);
}

/* Compresses after the arguments were checked. */
static int64_t compress_checked(const fednl_compressor *c, int64_t dim, const double *m, int32_t *indices,
                                double *values, uint64_t *work) {
    int64_t total = packed_length(dim), k = budget(c, dim), count = 0, start = 0;
    fednl_random rng = fednl_random_seed(c->seed);
    double scale = (double)total / (double)k;
    switch (c->kind) {
    case FEDNL_COMPRESSOR_IDENTICAL:
        memcpy(values, m, (size_t)total * sizeof *values);
        return total;
    case FEDNL_COMPRESSOR_NATURAL:
        fednl_active_kernels()->natural(total, m, fednl_counter_key(c->seed), NULL, values);
        return total;
    case FEDNL_COMPRESSOR_TOPK:
    case FEDNL_COMPRESSOR_TOPLEK: {
        /* on the whole matrix, positions are packed offsets */
        double *keys = (double *)work, *scratch = keys + total;
        int32_t *histogram = (int32_t *)(scratch + total);
        fednl_entry_keys(dim, total, NULL, m, keys);
        count = c->kind == FEDNL_COMPRESSOR_TOPK
                    ? fednl_topk_positions(total, k, keys, scratch, histogram, indices)
                    : fednl_toplek_positions(total, k, total, keys, scratch, histogram, &rng, indices, histogram + 4 * 2048);
        for (int64_t t = 0; t < count; t++) values[t] = m[indices[t]];
        return count;
    }
    case FEDNL_COMPRESSOR_RANDK:
        count = fednl_randk_indices(total, k, &rng, indices, work);
        break;
    case FEDNL_COMPRESSOR_RANDSEQK:
        count = fednl_randseqk_indices(total, k, &rng, indices, &start);
        break;
    case FEDNL_COMPRESSOR_PERMK:
        count = fednl_permk_indices(total, c->clients, c->client, &rng, indices, work);
        scale = (double)c->clients;
        break;
    }
    for (int64_t t = 0; t < count; t++) values[t] = scale * m[indices[t]];
    return count;
}

static int32_t check_workspace(const fednl_compressor *c, int64_t dim, const uint64_t *work, int64_t work_len,
                               const char *function) {
    int64_t needed = fednl_compress_workspace(c, dim);
    if (needed > 0 && (work == NULL || work_len < needed))
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "%s: workspace of %lld words, need %lld", function,
                          (long long)work_len, (long long)needed);
    return FEDNL_OK;
}

/* The outputs of fednl_compress: present, and long enough for what this compressor writes. The dense kinds write
 * no indices, so their indices buffer and its capacity are not looked at. */
static int32_t check_outputs(const fednl_compressor *c, int64_t dim, const int32_t *indices, int64_t indices_capacity,
                             const double *values, int64_t values_capacity, const int64_t *count) {
    int sparse = !is_dense_kind(c->kind);
    if (values == NULL || count == NULL || (sparse && indices == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "compress: an output buffer is null");
    int64_t needed = capacity_checked(c, dim);
    int32_t status = sparse ? fednl_check_length("compress", "indices_capacity", indices_capacity, needed) : FEDNL_OK;
    return status != FEDNL_OK ? status : fednl_check_length("compress", "values_capacity", values_capacity, needed);
}

FEDNL_API int32_t fednl_compress(const fednl_compressor *c, int64_t dim, const double *m, int32_t *indices,
                                 int64_t indices_capacity, double *values, int64_t values_capacity, int64_t *count,
                                 uint64_t *work, int64_t work_len) {
    int32_t status = check_compressor(c, dim, "compress");
    if (status != FEDNL_OK) return status;
    if (m == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "compress: m is null");
    status = check_outputs(c, dim, indices, indices_capacity, values, values_capacity, count);
    if (status != FEDNL_OK) return status;
    status = check_workspace(c, dim, work, work_len, "compress");
    if (status != FEDNL_OK) return status;
    *count = compress_checked(c, dim, m, indices, values, work);
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_compress_indices(const fednl_compressor *c, int64_t dim, int32_t *indices,
                                         int64_t indices_capacity, int64_t *count, int64_t *start, uint64_t *work,
                                         int64_t work_len) {
    int32_t status = check_compressor(c, dim, "compress_indices");
    if (status != FEDNL_OK) return status;
    if (c->kind != FEDNL_COMPRESSOR_RANDK && c->kind != FEDNL_COMPRESSOR_RANDSEQK && c->kind != FEDNL_COMPRESSOR_PERMK)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "compress_indices: only randk, randseqk and permk regenerate indices");
    if (indices == NULL || count == NULL || start == NULL)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "compress_indices: an output buffer is null");
    status = fednl_check_length("compress_indices", "indices_capacity", indices_capacity, budget(c, dim));
    if (status != FEDNL_OK) return status;
    status = check_workspace(c, dim, work, work_len, "compress_indices");
    if (status != FEDNL_OK) return status;
    fednl_random rng = fednl_random_seed(c->seed);
    *start = -1;
    if (c->kind == FEDNL_COMPRESSOR_RANDK)
        *count = fednl_randk_indices(packed_length(dim), budget(c, dim), &rng, indices, work);
    else if (c->kind == FEDNL_COMPRESSOR_PERMK)
        *count = fednl_permk_indices(packed_length(dim), c->clients, c->client, &rng, indices, work);
    else
        *count = fednl_randseqk_indices(packed_length(dim), budget(c, dim), &rng, indices, start);
    return FEDNL_OK;
}
