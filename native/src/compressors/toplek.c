/* toplek.c - TopLEK: at most K entries. Start from the TopK set and drop its smallest entries while the
 * residual |C(M) - M|^2 stays within (1 - K/D)|M|^2; the entry at the boundary is kept with the probability
 * that makes the expected residual equal (1 - K/D)|M|^2 exactly. Sends fewer entries than TopK when the
 * mass is concentrated. */
#include "compressor.h"

#include <string.h>

/* True when heap entry a should sit above b: larger key, or equal key and lower position. */
static int heap_above(const double *key, int32_t a, int32_t b) {
    return key[a] > key[b] || (key[a] == key[b] && a < b);
}

static void sift_down(int32_t *heap, int64_t size, int64_t at, const double *key) {
    for (;;) {
        int64_t child = 2 * at + 1;
        if (child >= size) return;
        if (child + 1 < size && heap_above(key, heap[child + 1], heap[child])) child++;
        if (!heap_above(key, heap[child], heap[at])) return;
        int32_t t = heap[at];
        heap[at] = heap[child];
        heap[child] = t;
        at = child;
    }
}

int64_t fednl_toplek_positions(int64_t n, int64_t k, int64_t total, const double *keys, double *scratch,
                               int32_t *histogram, fednl_random *rng, int32_t *positions, int32_t *heap) {
    return fednl_toplek_below(n, k, total, keys, fednl_key_sum(keys, n), k < n ? fednl_top_field(n, keys) : 0, scratch,
                              histogram, rng, positions, heap);
}

static int exponent_of(double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (int)((bits >> 52) & 0x7FF);
}

/* The residual TopLEK must reach: (1 - K/D)|M|^2, with the budget K (not the count a selection found), so a short
 * entry list never loosens it. */
static double residual_bound(int64_t k, int64_t total, double norm_squared) {
    return (1.0 - (double)(k < total ? k : total) / (double)total) * norm_squared;
}

/* The mass the pops must remove, norm - bound, raised by a margin above every rounding of the pops' sum over at most
 * `count` keys and of the norm (in any order of addition): a set of top binades holding this much holds every pop. */
static double pop_mass_needed(double norm_squared, double bound, int64_t count) {
    return (norm_squared - bound) + norm_squared * (1e-9 + (double)(count + 2048) * 0x1.0p-50);
}

/* Binades the reachable set's mass table spans at most; a TopK set spread wider takes the whole-set path. */
#define REACH_BINADES 256

/* The entries the pops below can reach, into heap; returns how many. Pops come in key order, so they are a prefix
 * of it, and every binade above holds larger keys than every binade below: the set of keys in the top binades
 * whose mass exceeds what the pops must remove (norm - bound), by a margin above every rounding of the two
 * sums (in any order of addition), holds every pop; any set that holds them gives the same pops. Without such
 * binades (or with a non-finite norm, or a TopK set spread over more than REACH_BINADES binades), the whole TopK
 * set. The masses are summed in four lanes by position, so that consecutive keys of one binade do not wait on each
 * other's stores. */
static int64_t reachable(const double *keys, double norm_squared, double bound, int64_t top,
                         const fednl_topk_span *span, const int32_t *positions, int32_t *heap) {
    int64_t size = 0;
    if (top >= 64 && isfinite(norm_squared)) {
        double need = pop_mass_needed(norm_squared, bound, top);
        if (!(need > 0.0)) return 0; /* the empty top binade already holds it */
        int lowest = (int)span->lowest, highest = (int)span->highest;
        if (span->highest < 0) /* not known: a pass over the set */
            for (int64_t t = 0; t < top; t++) {
                int e = exponent_of(keys[positions[t]]);
                lowest = t == 0 || e < lowest ? e : lowest;
                highest = t == 0 || e > highest ? e : highest;
            }
        if (highest - lowest < REACH_BINADES) {
            double mass[REACH_BINADES][4];
            for (int e = 0; e <= highest - lowest; e++) mass[e][0] = mass[e][1] = mass[e][2] = mass[e][3] = 0.0;
            for (int64_t t = 0; t < top; t++) mass[exponent_of(keys[positions[t]]) - lowest][t & 3] += keys[positions[t]];
            double sum = 0.0;
            int low = highest;
            for (; low >= lowest; low--) {
                const double *m = mass[low - lowest];
                sum += (m[0] + m[1]) + (m[2] + m[3]);
                if (sum >= need) break;
            }
            if (low >= lowest) {
                for (int64_t t = 0; t < top; t++) {
                    heap[size] = positions[t];
                    size += exponent_of(keys[positions[t]]) >= low;
                }
                return size;
            }
        }
    }
    for (int64_t t = 0; t < top; t++) heap[t] = positions[t];
    return top;
}

static double double_of_bits(uint64_t bits) {
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* The set the pops reach, from the first pass's counts alone: bin b holds the keys b binades below the largest
 * (exponent field top - b), each at least 2^(top - b - 1023), so the counts bound the mass of the top bins from
 * below. Once that bound reaches what the pops must remove (with reachable's margin for the roundings of the
 * sums), the pops end within those bins, and when the bins hold at most K keys they are the top of the TopK set:
 * their positions (ascending) into positions, *lowest their smallest field. Returns how many, or -1 when the
 * counts cannot tell (the TopK set is then needed). */
static int64_t reach_by_counts(int64_t n, int64_t k, int64_t total, const double *keys, double norm_squared, int64_t top,
                               int64_t *lowest, int32_t *positions) {
    double need = pop_mass_needed(norm_squared, residual_bound(k, total, norm_squared), k);
    *lowest = top;
    if (!(need > 0.0)) return 0; /* no pops */
    const fednl_vector_kernels *kernels = fednl_active_kernels();
    int64_t counts[32] = {0};
    kernels->count_fields(n, keys, 52, top, counts);
    double mass = 0.0; /* a lower bound of the bins' mass; its own roundings are within the 2^-40 taken off */
    int64_t set = 0;
    for (int b = 0; b <= 30 && top - b >= 1; b++) {
        set += counts[b];
        if (set > k) return -1;
        uint64_t floor_bits = (uint64_t)(top - b) << 52; /* 2^(top - b - 1023), the bin's smallest key */
        mass += (double)counts[b] * double_of_bits(floor_bits);
        if (mass * (1.0 - 0x1.0p-40) >= need) {
            *lowest = top - b;
            /* the keys of field >= top - b: every key above the largest double of the binade below */
            return kernels->collect_positions(n, keys, double_of_bits(floor_bits - 1), set, set, positions);
        }
    }
    return -1;
}

int64_t fednl_toplek_below(int64_t n, int64_t k, int64_t total, const double *keys, double norm_squared, int64_t top,
                           double *scratch, int32_t *histogram, fednl_random *rng, int32_t *positions, int32_t *heap) {
    fednl_topk_span span;
    int64_t count = -1;
    if (k < n && top >= 1 && top < 2047 && isfinite(norm_squared)) {
        count = reach_by_counts(n, k, total, keys, norm_squared, top, &span.lowest, positions);
        span.highest = top;
    }
    if (count < 0) count = fednl_topk_positions_below(n, k, keys, top, scratch, histogram, positions, &span);
    return fednl_toplek_from_topk(k, total, keys, norm_squared, rng, count, &span, positions, heap);
}

int64_t fednl_toplek_from_topk(int64_t k, int64_t total, const double *keys, double norm_squared, fednl_random *rng,
                               int64_t top, const fednl_topk_span *span, int32_t *positions, int32_t *heap) {
    double bound = residual_bound(k, total, norm_squared);

    /* Pop the TopK set from a max-heap of keys (ties: lower position first, so the result is deterministic)
     * until the residual is within the bound: O(K + kept log K), and usually only a few entries are kept. Only
     * the entries the pops can reach go into the heap. */
    int64_t size = reachable(keys, norm_squared, bound, top, span, positions, heap), reach = size;
    for (int64_t t = size / 2 - 1; t >= 0; t--) sift_down(heap, size, t, keys);

    double kept = 0.0;
    int64_t keep = 0;
    while (keep < reach && norm_squared - kept > bound) {
        int32_t t = heap[0];
        heap[0] = heap[--size];
        sift_down(heap, size, 0, keys);
        positions[keep++] = t; /* popped entries reuse the front of positions: keep <= popped so far */
        kept += keys[t];
    }

    int64_t chosen = keep;
    if (keep > 0) {
        /* residual without the boundary entry exceeds the bound, with it does not: keep it with probability p
         * so that p * with + (1 - p) * without = bound */
        double boundary = keys[positions[keep - 1]];
        double without = norm_squared - (kept - boundary);
        double p = boundary > 0.0 ? (without - bound) / boundary : 1.0;
        if (fednl_random_uniform(rng) >= p) chosen = keep - 1;
    }
    fednl_sort_indices(positions, chosen);
    return chosen;
}
