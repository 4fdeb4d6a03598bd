/* plan.h - the layout of a Hessian plan (see fednl.h: fednl_hessian_plan_build). A plan lives in the caller's
 * buffer of 8-byte words: this header, then the arrays it points to (word offsets from the plan's start). */
#ifndef FEDNL_PLAN_H
#define FEDNL_PLAN_H

#include "../internal.h"

#define FEDNL_PLAN_MAGIC 0x314E414C504C4E46ull /* "FNLPLAN1" */
#define FEDNL_PLAN_LANES 4

typedef struct fednl_plan_header {
    uint64_t magic;
    int64_t words, rows, cols, kind, pattern_length, pairs;
    /* bytes per row index in the lists: 2 when rows < 65535 (half the memory traffic of a round), else 4 */
    int64_t sample_bytes;
    /* groups of FEDNL_PLAN_LANES pattern entries; uniform groups first (every pair product of an entry is the
     * same, kept once in scale), then valued groups (a product per pair, in pair_value) */
    int64_t uniform_groups, valued_groups, uniform_slots, valued_slots;
    /* word offsets; pattern_at and bits_at are 0 for a dense plan, whose pattern is every packed entry. bits: the
     * pattern as D bits; rank: pattern entries before each 64-bit word, so an offset's position is one popcount */
    int64_t pattern_at, bits_at, rank_at, diagonal_at, length_at, entry_at, scale_at, sample_at, pair_value_at;
} fednl_plan_header;

/* The header of a plan after checking its magic and size; null (with a message) when it is not a plan. */
const fednl_plan_header *fednl_plan_open(const uint64_t *plan, int64_t plan_words, const char *function);

/* Packed offsets of the pattern entries, or null when the pattern is every entry (offset = position). */
static inline const int32_t *fednl_plan_pattern(const uint64_t *plan, const fednl_plan_header *h) {
    return h->pattern_at != 0 ? (const int32_t *)(plan + h->pattern_at) : NULL;
}

/* Pattern positions of the cols diagonal entries. */
static inline const int32_t *fednl_plan_diagonal(const uint64_t *plan, const fednl_plan_header *h) {
    return (const int32_t *)(plan + h->diagonal_at);
}

#endif
