/* natural.c - natural compression: each entry rounded at random to one of the two powers of two around it,
 * up with probability (|v| - 2^e) / 2^e, so that the expectation is v. Zero stays zero; powers of two are
 * exact. Only sign and exponent survive, which is what makes it cheap on the wire. The entry at packed offset e
 * takes the counter-based draw number e of the call's key (random.h), whether or not it is zero: every entry's draw
 * is fixed by its position, so vector lanes draw independently and a client's pattern step rounds each entry as
 * the compressor on the whole packed matrix does. */
#include "compressor.h"

void fednl_natural(int64_t count, const double *m, uint64_t key, const int32_t *offsets, double *values) {
    for (int64_t t = 0; t < count; t++)
        values[t] = fednl_natural_entry(m[t], fednl_counter_draw(key, offsets != NULL ? (uint64_t)offsets[t] : (uint64_t)t));
}
