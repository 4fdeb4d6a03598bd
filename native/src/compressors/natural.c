/* natural.c - natural compression: each entry rounded at random to one of the two powers of two around it,
 * up with probability (|v| - 2^e) / 2^e, so that the expectation is v. Zero stays zero; powers of two are
 * exact. Only sign and exponent survive, which is what makes it cheap on the wire. */
#include "compressor.h"

#include <string.h>

/* For a normal v, low = 2^floor(log2 |v|) is v with its mantissa bits cleared (and its sign), and the chance to round
 * up, |v| / low - 1, is the mantissa read as a fraction: no frexp or ldexp call per entry. */
static double natural_normal(double v, fednl_random *rng) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t low_bits = bits & 0xFFF0000000000000ull; /* sign and exponent */
    double low, up_probability = (double)(bits & 0x000FFFFFFFFFFFFFull) * 0x1.0p-52;
    memcpy(&low, &low_bits, sizeof low);
    return fednl_random_uniform(rng) < up_probability ? 2.0 * low : low;
}

void fednl_natural(int64_t total, const double *m, fednl_random *rng, double *values) {
    for (int64_t e = 0; e < total; e++) {
        double v = m[e];
        if (v == 0.0 || !isfinite(v)) {
            values[e] = v;
            continue;
        }
        if (fabs(v) >= 0x1.0p-1022) {
            values[e] = natural_normal(v, rng);
            continue;
        }
        /* subnormal: frexp normalises it */
        int exponent;
        double mantissa = frexp(fabs(v), &exponent); /* |v| = mantissa * 2^exponent, mantissa in [0.5, 1) */
        double low = ldexp(1.0, exponent - 1);
        double up_probability = 2.0 * mantissa - 1.0;
        double rounded = fednl_random_uniform(rng) < up_probability ? 2.0 * low : low;
        values[e] = v < 0 ? -rounded : rounded;
    }
}
