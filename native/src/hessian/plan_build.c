/* plan_build.c - building a client's Hessian plan from its CSR rows, once before training.
 *
 * The Hessian (1/m) sum_j w_j a_j a_j^T + lambda I of a client can only be non-zero on a fixed set of packed
 * entries: pairs of features that share a row, and the diagonal. That pattern is all the client ever needs to
 * store, and each round its entries are sums of gathered sample weights:
 *     H_pq = sum over rows j holding p and q of w_j a_jp a_jq.
 * The plan lists, per entry, the rows of that sum, grouped four entries at a time with the longest lists first,
 * so one AVX2 gather serves four entries and the padding stays small. Every round then reads the plan
 * sequentially and touches no scattered memory except the row weights, which sit in L1. */
#include "plan.h"

#include <string.h>

static int64_t words_for_int32(int64_t n) { return (n + 1) / 2; }

/* Workspace: map[D], count[D], cursor[D], order[D] (int32), first[D] (double), uniform[D] (bytes), a histogram. */
FEDNL_API int64_t fednl_hessian_plan_workspace(int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 1 || cols > 65535) return -1;
    int64_t total = cols * (cols + 1) / 2;
    return 4 * words_for_int32(total) + total + (total + 7) / 8 + rows + 2 + 8;
}

typedef struct build_state {
    int64_t rows, cols, total, pattern_length, pairs, valued_entries;
    int32_t *map, *count, *cursor, *order;
    double *first;
    uint8_t *uniform;
    int64_t *histogram;
} build_state;

static build_state state_on(int64_t rows, int64_t cols, uint64_t *work) {
    build_state s;
    memset(&s, 0, sizeof s);
    s.rows = rows;
    s.cols = cols;
    s.total = cols * (cols + 1) / 2;
    int64_t q = words_for_int32(s.total);
    s.map = (int32_t *)work;
    s.count = (int32_t *)(work + q);
    s.cursor = (int32_t *)(work + 2 * q);
    s.order = (int32_t *)(work + 3 * q);
    s.first = (double *)(work + 4 * q);
    s.uniform = (uint8_t *)(work + 4 * q + s.total);
    s.histogram = (int64_t *)(work + 4 * q + s.total + (s.total + 7) / 8);
    return s;
}

/* Marks the pattern, numbers it in packed order, and counts each entry's pairs and whether its products agree. */
static void scan_pattern(build_state *s, const int64_t *row_ptr, const int32_t *col_idx, const double *values) {
    for (int64_t e = 0; e < s->total; e++) s->map[e] = -1;
    for (int64_t i = 0; i < s->cols; i++) s->map[fednl_packed_row_offset(s->cols, i)] = 0;
    s->pairs = 0;
    for (int64_t j = 0; j < s->rows; j++)
        for (int64_t a = row_ptr[j]; a < row_ptr[j + 1]; a++) {
            int64_t base = fednl_packed_row_base(s->cols, col_idx[a]);
            for (int64_t b = a; b < row_ptr[j + 1]; b++) s->map[base + col_idx[b]] = 0;
            s->pairs += row_ptr[j + 1] - a;
        }
    int64_t p = 0;
    for (int64_t e = 0; e < s->total; e++)
        if (s->map[e] == 0) s->map[e] = (int32_t)p++;
    s->pattern_length = p;
    for (int64_t t = 0; t < p; t++) {
        s->count[t] = 0;
        s->uniform[t] = 1;
        s->first[t] = 0.0;
    }
    for (int64_t j = 0; j < s->rows; j++)
        for (int64_t a = row_ptr[j]; a < row_ptr[j + 1]; a++) {
            int64_t base = fednl_packed_row_base(s->cols, col_idx[a]);
            for (int64_t b = a; b < row_ptr[j + 1]; b++) {
                int32_t t = s->map[base + col_idx[b]];
                double product = values[a] * values[b];
                if (s->count[t]++ == 0) s->first[t] = product;
                else if (product != s->first[t]) s->uniform[t] = 0;
            }
        }
    s->valued_entries = 0;
    for (int64_t t = 0; t < p; t++) s->valued_entries += !s->uniform[t];
}

/* order[0..P): uniform entries, then valued ones, each by pair count descending, ties by position. */
static void sort_entries(build_state *s) {
    int64_t at = 0;
    for (int section = 1; section >= 0; section--) {
        memset(s->histogram, 0, (size_t)(s->rows + 2) * sizeof *s->histogram);
        for (int64_t t = 0; t < s->pattern_length; t++)
            if (s->uniform[t] == section) s->histogram[s->rows - s->count[t]]++;
        int64_t sum = at;
        for (int64_t c = 0; c <= s->rows; c++) {
            int64_t n = s->histogram[c];
            s->histogram[c] = sum;
            sum += n;
        }
        for (int64_t t = 0; t < s->pattern_length; t++)
            if (s->uniform[t] == section) s->order[s->histogram[s->rows - s->count[t]]++] = (int32_t)t;
        at = sum;
    }
}

static int64_t groups_of(int64_t entries) { return (entries + FEDNL_PLAN_LANES - 1) / FEDNL_PLAN_LANES; }

/* Slots (one per row of the longest list) of the groups in order[from, from + entries). */
static int64_t slots_of(const build_state *s, int64_t from, int64_t entries) {
    int64_t slots = 0;
    for (int64_t g = 0; g < groups_of(entries); g++) slots += s->count[s->order[from + g * FEDNL_PLAN_LANES]];
    return slots;
}

/* Fills the header's sizes and offsets (h->words: the plan's length in words). */
static void lay_out(const build_state *s, int32_t kind, fednl_plan_header *h) {
    memset(h, 0, sizeof *h);
    h->magic = FEDNL_PLAN_MAGIC;
    h->rows = s->rows;
    h->cols = s->cols;
    h->kind = kind;
    int64_t at = (int64_t)((sizeof *h + 7) / 8);
    if (kind == FEDNL_HESSIAN_PLAN_DENSE) {
        h->pattern_length = s->total;
        h->diagonal_at = at;
        at += words_for_int32(s->cols);
        h->words = at;
        return;
    }
    int64_t uniform = s->pattern_length - s->valued_entries;
    h->sample_bytes = s->rows < 65535 ? 2 : 4;
    h->pattern_length = s->pattern_length;
    h->pairs = s->pairs;
    h->uniform_groups = groups_of(uniform);
    h->valued_groups = groups_of(s->valued_entries);
    h->uniform_slots = slots_of(s, 0, uniform);
    h->valued_slots = slots_of(s, uniform, s->valued_entries);
    int64_t groups = h->uniform_groups + h->valued_groups;
    int64_t slots = h->uniform_slots + h->valued_slots;
    h->pattern_at = at;
    at += words_for_int32(s->pattern_length);
    h->bits_at = at;
    at += (s->total + 63) / 64;
    h->rank_at = at;
    at += words_for_int32((s->total + 63) / 64);
    h->diagonal_at = at;
    at += words_for_int32(s->cols);
    h->length_at = at;
    at += words_for_int32(groups);
    h->entry_at = at;
    at += words_for_int32(groups * FEDNL_PLAN_LANES);
    h->scale_at = at;
    at += groups * FEDNL_PLAN_LANES;
    h->sample_at = at;
    at += (slots * FEDNL_PLAN_LANES * h->sample_bytes + 7) / 8;
    h->pair_value_at = at;
    at += h->valued_slots * FEDNL_PLAN_LANES;
    h->words = at;
}

static int32_t check_inputs(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                            const double *values, int32_t kind, const uint64_t *work, int64_t work_len,
                            const char *function) {
    if (rows < 0 || rows >= INT32_MAX || cols < 1 || cols > 65535)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: need 0 <= rows < 2^31-1 and 1 <= cols <= 65535, got %lld x %lld",
                          function, (long long)rows, (long long)cols);
    if (kind != FEDNL_HESSIAN_PLAN_SPARSE && kind != FEDNL_HESSIAN_PLAN_DENSE)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: plan kind %d is not a fednl_hessian_plan_kind", function, (int)kind);
    if (kind == FEDNL_HESSIAN_PLAN_DENSE) return FEDNL_OK;
    if (row_ptr == NULL || (row_ptr[rows] > 0 && (col_idx == NULL || values == NULL)))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: a CSR buffer is null", function);
    int64_t needed = fednl_hessian_plan_workspace(rows, cols);
    if (work == NULL || work_len < needed)
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "%s: workspace of %lld words, need %lld", function,
                          (long long)work_len, (long long)needed);
    return FEDNL_OK;
}

/* Scans and orders the pattern (sparse kind) and lays the plan out into *h; fails when the lists cannot be indexed. */
static int32_t prepare(build_state *s, fednl_plan_header *h, int64_t rows, int64_t cols, const int64_t *row_ptr,
                       const int32_t *col_idx, const double *values, int32_t kind, uint64_t *work, const char *function) {
    memset(s, 0, sizeof *s);
    s->rows = rows;
    s->cols = cols;
    s->total = cols * (cols + 1) / 2;
    if (kind == FEDNL_HESSIAN_PLAN_SPARSE) {
        *s = state_on(rows, cols, work);
        scan_pattern(s, row_ptr, col_idx, values);
        sort_entries(s);
    }
    lay_out(s, kind, h);
    if ((h->uniform_slots + h->valued_slots) * FEDNL_PLAN_LANES >= INT32_MAX)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: %lld row pairs are too many for a sparse plan; use the dense plan",
                          function, (long long)h->pairs);
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_hessian_plan_measure(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                             const double *values, int32_t kind, fednl_hessian_plan_info *info,
                                             uint64_t *work, int64_t work_len) {
    int32_t status = check_inputs(rows, cols, row_ptr, col_idx, values, kind, work, work_len, "hessian_plan_measure");
    if (status != FEDNL_OK) return status;
    if (info == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "hessian_plan_measure: info is null");
    build_state s;
    fednl_plan_header h;
    status = prepare(&s, &h, rows, cols, row_ptr, col_idx, values, kind, work, "hessian_plan_measure");
    if (status != FEDNL_OK) return status;
    info->words = h.words;
    info->pattern_length = h.pattern_length;
    info->pairs = h.pairs;
    info->valued_entries = s.valued_entries;
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_hessian_plan_build(int64_t rows, int64_t cols, const int64_t *row_ptr, const int32_t *col_idx,
                                           const double *values, int32_t kind, uint64_t *plan, int64_t plan_words,
                                           uint64_t *work, int64_t work_len) {
    int32_t status = check_inputs(rows, cols, row_ptr, col_idx, values, kind, work, work_len, "hessian_plan_build");
    if (status != FEDNL_OK) return status;
    if (plan == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "hessian_plan_build: plan is null");
    build_state s;
    fednl_plan_header h;
    status = prepare(&s, &h, rows, cols, row_ptr, col_idx, values, kind, work, "hessian_plan_build");
    if (status != FEDNL_OK) return status;
    int64_t words = h.words;
    if (plan_words < words)
        return fednl_fail(FEDNL_ERR_WORKSPACE_TOO_SMALL, "hessian_plan_build: plan of %lld words, need %lld",
                          (long long)plan_words, (long long)words);
    memset(plan, 0, (size_t)words * sizeof *plan);
    memcpy(plan, &h, sizeof h);
    int32_t *diagonal = (int32_t *)(plan + h.diagonal_at);
    if (kind == FEDNL_HESSIAN_PLAN_DENSE) {
        for (int64_t i = 0; i < cols; i++) diagonal[i] = (int32_t)fednl_packed_row_offset(cols, i);
        return FEDNL_OK;
    }

    int32_t *pattern = (int32_t *)(plan + h.pattern_at), *rank = (int32_t *)(plan + h.rank_at);
    uint64_t *bits = plan + h.bits_at;
    int32_t seen = 0; /* positions were numbered in packed order, so seen == map[e] on the pattern */
    for (int64_t e = 0; e < s.total; e++) {
        if ((e & 63) == 0) rank[e >> 6] = seen;
        if (s.map[e] >= 0) {
            pattern[seen++] = (int32_t)e;
            bits[e >> 6] |= 1ull << (e & 63);
        }
    }
    for (int64_t i = 0; i < cols; i++) diagonal[i] = s.map[fednl_packed_row_offset(cols, i)];

    /* groups: entry positions (-1 pads the last lane of a section), scales, and each entry's first slot */
    int32_t *length = (int32_t *)(plan + h.length_at), *entry = (int32_t *)(plan + h.entry_at);
    int32_t *sample32 = (int32_t *)(plan + h.sample_at);
    uint16_t *sample16 = (uint16_t *)(plan + h.sample_at);
    double *scale = (double *)(plan + h.scale_at), *pair_value = (double *)(plan + h.pair_value_at);
    int64_t uniform = s.pattern_length - s.valued_entries, slot = 0, g = 0;
    for (int section = 0; section < 2; section++) {
        int64_t from = section == 0 ? 0 : uniform, entries = section == 0 ? uniform : s.valued_entries;
        for (int64_t q = 0; q < groups_of(entries); q++, g++) {
            length[g] = s.count[s.order[from + q * FEDNL_PLAN_LANES]];
            for (int64_t l = 0; l < FEDNL_PLAN_LANES; l++) {
                int64_t k = q * FEDNL_PLAN_LANES + l;
                int64_t lane = g * FEDNL_PLAN_LANES + l;
                if (k < entries) {
                    int32_t t = s.order[from + k];
                    entry[lane] = t;
                    scale[lane] = section == 0 && s.count[t] > 0 ? s.first[t] : 1.0;
                    s.cursor[t] = (int32_t)(slot * FEDNL_PLAN_LANES + l); /* next sample index goes here */
                } else {
                    entry[lane] = -1;
                    scale[lane] = 0.0;
                }
            }
            slot += length[g];
        }
    }
    /* padding slots read the zero weight at index rows */
    for (int64_t k = 0; k < (h.uniform_slots + h.valued_slots) * FEDNL_PLAN_LANES; k++) {
        if (h.sample_bytes == 2) sample16[k] = (uint16_t)rows;
        else sample32[k] = (int32_t)rows;
    }
    int64_t valued_from = h.uniform_slots * FEDNL_PLAN_LANES;
    for (int64_t j = 0; j < rows; j++)
        for (int64_t a = row_ptr[j]; a < row_ptr[j + 1]; a++) {
            int64_t base = fednl_packed_row_base(cols, col_idx[a]);
            for (int64_t b = a; b < row_ptr[j + 1]; b++) {
                int32_t t = s.map[base + col_idx[b]];
                int32_t at = s.cursor[t];
                if (h.sample_bytes == 2) sample16[at] = (uint16_t)j;
                else sample32[at] = (int32_t)j;
                if (!s.uniform[t]) pair_value[at - valued_from] = values[a] * values[b];
                s.cursor[t] = at + FEDNL_PLAN_LANES;
            }
        }
    return FEDNL_OK;
}

const fednl_plan_header *fednl_plan_open(const uint64_t *plan, int64_t plan_words, const char *function) {
    if (plan == NULL || plan_words < (int64_t)((sizeof(fednl_plan_header) + 7) / 8)) {
        fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: the plan is null or too short", function);
        return NULL;
    }
    const fednl_plan_header *h = (const fednl_plan_header *)plan;
    if (h->magic != FEDNL_PLAN_MAGIC || h->words > plan_words) {
        fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: the buffer does not hold a Hessian plan built by this library", function);
        return NULL;
    }
    return h;
}

FEDNL_API int32_t fednl_hessian_plan_pattern(const uint64_t *plan, int64_t plan_words, int32_t *pattern,
                                             int64_t pattern_length) {
    const fednl_plan_header *h = fednl_plan_open(plan, plan_words, "hessian_plan_pattern");
    if (h == NULL) return FEDNL_ERR_INVALID_ARGUMENT;
    if (pattern == NULL || pattern_length != h->pattern_length)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT,
                          "hessian_plan_pattern: pattern_length is %lld, the plan has %lld entries",
                          (long long)pattern_length, (long long)h->pattern_length);
    const int32_t *offsets = fednl_plan_pattern(plan, h);
    for (int64_t t = 0; t < h->pattern_length; t++) pattern[t] = offsets != NULL ? offsets[t] : (int32_t)t;
    return FEDNL_OK;
}
