/* loss_step_scalar.h - the loss step (loss_step.h) instantiated on one double: the reference variant's form and the
 * definition the tests hold every variant to. fma() is libm's, rounded once like the vector FMAs. */
#ifndef FEDNL_LOSS_STEP_SCALAR_H
#define FEDNL_LOSS_STEP_SCALAR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline double exponent_bits(double a) {
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    bits <<= 52;
    memcpy(&a, &bits, sizeof a);
    return a;
}
#define LS_V double
#define LS_SET1(c) (c)
#define LS_ADD(a, b) ((a) + (b))
#define LS_SUB(a, b) ((a) - (b))
#define LS_MUL(a, b) ((a) * (b))
#define LS_DIV(a, b) ((a) / (b))
#define LS_FMA(a, b, c) fma(a, b, c)
#define LS_ABS(a) fabs(a)
#define LS_NEG(a) (-(a))
#define LS_MIN(c, a) ((c) < (a) ? (c) : (a))
#define LS_POSITIVE(z, a, b) ((z) > 0.0 ? (a) : (b))
#define LS_NONPOSITIVE(z, a) ((z) <= 0.0 ? (a) : 0.0)
#define LS_EXPONENT(a) exponent_bits(a)
#include "loss_step.h"

#endif
