/* random.h - the kernel's random streams: xoshiro256** seeded through splitmix64, and counter-based draws (natural
 * compression's) addressed by position. The state lives in the caller's stack frame for one call; a call's whole
 * output is a function of its seed. */
#ifndef FEDNL_RANDOM_H
#define FEDNL_RANDOM_H

#include <stdint.h>

typedef struct fednl_random { uint64_t s[4]; } fednl_random;

/* splitmix64's output function: a bijective mix of all 64 bits. */
static inline uint64_t fednl_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t fednl_splitmix64(uint64_t *state) { return fednl_mix64(*state += 0x9E3779B97F4A7C15ull); }

/* Counter-based draws: draw e of a call is output e of the splitmix64 stream started at key, i.e.
 * mix(key + (e + 1) * gamma). Any entry's draw follows from its position alone, so vector lanes need no shared
 * state and an entry's draw does not depend on which entries before it were drawn for. */
#define FEDNL_COUNTER_GAMMA 0x9E3779B97F4A7C15ull

/* The key of a call seeded with seed: the first output of splitmix64 seeded with it. */
static inline uint64_t fednl_counter_key(uint64_t seed) { return fednl_splitmix64(&seed); }

static inline uint64_t fednl_counter_draw(uint64_t key, uint64_t e) {
    return fednl_mix64(key + (e + 1) * FEDNL_COUNTER_GAMMA);
}

static inline fednl_random fednl_random_seed(uint64_t seed) {
    fednl_random r;
    for (int i = 0; i < 4; i++) r.s[i] = fednl_splitmix64(&seed);
    return r;
}

static inline uint64_t fednl_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t fednl_random_next(fednl_random *r) {
    uint64_t result = fednl_rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;
    r->s[2] ^= r->s[0];
    r->s[3] ^= r->s[1];
    r->s[1] ^= r->s[2];
    r->s[0] ^= r->s[3];
    r->s[2] ^= t;
    r->s[3] = fednl_rotl(r->s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double fednl_random_uniform(fednl_random *r) { return (double)(fednl_random_next(r) >> 11) * 0x1.0p-53; }

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 fednl_u128;
/* High and low halves of the 128-bit product a * b. */
static inline uint64_t fednl_mul_high(uint64_t a, uint64_t b, uint64_t *low) {
    fednl_u128 p = (fednl_u128)a * b;
    *low = (uint64_t)p;
    return (uint64_t)(p >> 64);
}
#else
static inline uint64_t fednl_mul_high(uint64_t a, uint64_t b, uint64_t *low) {
    uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    *low = (mid << 32) | (ll & 0xFFFFFFFFu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
#endif

/* Uniform integer in [0, bound), bound >= 1, without modulo bias (Lemire's multiply-and-reject). The rejection
 * threshold (2^64 mod bound) is below bound, so it is only computed, with its division, when the low half is. */
static inline uint64_t fednl_random_below(fednl_random *r, uint64_t bound) {
    uint64_t low, high = fednl_mul_high(fednl_random_next(r), bound, &low);
    if (low < bound) {
        uint64_t threshold = (0 - bound) % bound;
        while (low < threshold) high = fednl_mul_high(fednl_random_next(r), bound, &low);
    }
    return high;
}

#endif
