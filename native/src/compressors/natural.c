/* natural.c - natural compression: each entry rounded at random to one of the two powers of two around it,
 * up with probability (|v| - 2^e) / 2^e, so that the expectation is v. Zero stays zero; powers of two are
 * exact. Only sign and exponent survive, which is what makes it cheap on the wire. */
#include "compressor.h"

void fednl_natural(int64_t total, const double *m, fednl_random *rng, double *values) {
    for (int64_t e = 0; e < total; e++) {
        double v = m[e];
        if (v == 0.0 || !isfinite(v)) {
            values[e] = v;
            continue;
        }
        int exponent;
        double mantissa = frexp(fabs(v), &exponent); /* |v| = mantissa * 2^exponent, mantissa in [0.5, 1) */
        double low = ldexp(1.0, exponent - 1);
        double up_probability = 2.0 * mantissa - 1.0;
        double rounded = fednl_random_uniform(rng) < up_probability ? 2.0 * low : low;
        values[e] = v < 0 ? -rounded : rounded;
    }
}
