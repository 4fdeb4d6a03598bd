/* loss_step.h - the logistic oracle's per-row step, written once for every variant: e = exp(-|z|) by range
 * reduction and a polynomial, then the loss factor 1 + e, the loss's linear part, the sigmoid, the gradient
 * coefficient and the Hessian's row weight. Only IEEE operations that round once (add, sub, mul, div, fma) and
 * bit moves appear, in a fixed order, so a variant that supplies these operations on its lane type gets the
 * reference's bits in every lane. Include it after defining:
 *   LS_V              the lane type (double for the reference)
 *   LS_SET1(c)        every lane c
 *   LS_ADD, LS_SUB, LS_MUL, LS_DIV (a, b)    one rounding each
 *   LS_FMA(a, b, c)   a * b + c, rounded once
 *   LS_ABS(a), LS_NEG(a)                     sign bit cleared / flipped (NaN included)
 *   LS_MIN(c, a)      c < a ? c : a          (a NaN a passes through)
 *   LS_POSITIVE(z, a, b)                     z > 0 ? a : b  (ordered: b when z is NaN)
 *   LS_NONPOSITIVE(z, a)                     z <= 0 ? a : +0 (ordered: +0 when z is NaN)
 *   LS_EXPONENT(a)    the double whose bits are those of a shifted left by 52
 */
#ifndef LS_V
#error "define the lane operations before including loss_step.h"
#endif

/* 1.5 * 2^52: adding it rounds a double of magnitude below 2^51 to an integer, held in the low mantissa bits. */
#define LS_SHIFTER 0x1.8p52

/* exp(-|z|), within one ulp of exp over the whole range: |z| >= 746 (and infinities) give +0, NaN stays NaN, and
 * results below 2^-1022 round once into the subnormals. With n = round(-|z| / ln 2) and r = -|z| - n ln 2 (ln 2 in
 * two parts; the first product is exact), exp(r) for |r| <= ln(2) / 2 is its Taylor polynomial of degree 13
 * (truncation below 5e-18) in Horner form, then times 2^n as two exact powers 2^n1 2^n2 with n1 = round(n / 2),
 * so that no power leaves the normal range before the last product. */
static inline LS_V ls_exp_neg_abs(LS_V z) {
    LS_V t = LS_NEG(LS_MIN(LS_SET1(746.0), LS_ABS(z)));
    LS_V shifted = LS_FMA(t, LS_SET1(0x1.71547652b82fep+0), LS_SET1(LS_SHIFTER)); /* shifter + n */
    LS_V n = LS_SUB(shifted, LS_SET1(LS_SHIFTER));
    LS_V r = LS_FMA(n, LS_SET1(-0x1.62e42fefa39efp-1), t);
    r = LS_FMA(n, LS_SET1(-0x1.abc9e3b39803fp-56), r);
    LS_V p = LS_SET1(1.0 / 6227020800.0);
    p = LS_FMA(p, r, LS_SET1(1.0 / 479001600.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 39916800.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 3628800.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 362880.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 40320.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 5040.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 720.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 120.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 24.0));
    p = LS_FMA(p, r, LS_SET1(1.0 / 6.0));
    p = LS_FMA(p, r, LS_SET1(0.5));
    p = LS_FMA(p, r, LS_SET1(1.0));
    p = LS_FMA(p, r, LS_SET1(1.0));
    LS_V half = LS_FMA(n, LS_SET1(0.5), LS_SET1(LS_SHIFTER)); /* shifter + n1, n / 2 rounded to even */
    LS_V n2 = LS_SUB(n, LS_SUB(half, LS_SET1(LS_SHIFTER)));
    /* the low 12 mantissa bits of shifter + 1023 + k are the biased exponent 1023 + k of 2^k (k in [-539, 0]) */
    LS_V power1 = LS_EXPONENT(LS_ADD(half, LS_SET1(1023.0)));
    LS_V power2 = LS_EXPONENT(LS_ADD(n2, LS_SET1(LS_SHIFTER + 1023.0)));
    return LS_MUL(LS_MUL(p, power1), power2);
}

/* One row with margin z = b a^T x and label b: factor = 1 + e, the row's loss being log(factor) plus linear;
 * coef = -inv_m b sigma(-z), the row's gradient coefficient; weight = inv_m sigma(z) sigma(-z), its Hessian weight.
 * With e = exp(-|z|) both sigmoids are 1 / (1 + e) and e / (1 + e), so the weight keeps its relative precision
 * for large |z| (1 - sigma would not). */
static inline void ls_row(LS_V z, LS_V label, LS_V inv_m, LS_V *factor, LS_V *linear, LS_V *coef, LS_V *weight) {
    LS_V e = ls_exp_neg_abs(z);
    LS_V d = LS_ADD(LS_SET1(1.0), e);
    LS_V large = LS_DIV(LS_SET1(1.0), d), small = LS_DIV(e, d);
    *factor = d;
    *linear = LS_NONPOSITIVE(z, LS_NEG(z));
    *coef = LS_MUL(LS_MUL(LS_NEG(inv_m), label), LS_POSITIVE(z, small, large));
    *weight = LS_MUL(LS_MUL(inv_m, small), large);
}
