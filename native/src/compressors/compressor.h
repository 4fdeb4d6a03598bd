/* compressor.h - the compressors' shared internal interface. Every compressor reads the packed matrix m
 * (D = dim(dim+1)/2 entries) and writes (indices, values, *count); see fednl.h for the contract. */
#ifndef FEDNL_COMPRESSOR_H
#define FEDNL_COMPRESSOR_H

#include "../internal.h"
#include "../random.h"

/* Squared weight of packed entry v in the Frobenius norm: 1 on the diagonal, 2 off it. Fills keys[0..D). */
void fednl_entry_weights_squared(int64_t dim, const double *m, double *keys);

/* The K-th largest of keys[0..n) (1 <= k <= n); reorders keys. */
double fednl_kth_largest(double *keys, int64_t n, int64_t k);

/* Sorts a[0..n) ascending (insertion sort below 24 entries, else quicksort). */
void fednl_sort_indices(int32_t *a, int64_t n);

int64_t fednl_topk(int64_t dim, int64_t k, const double *m, int32_t *indices, double *values, double *keys);
int64_t fednl_toplek(int64_t dim, int64_t k, const double *m, fednl_random *rng, int32_t *indices, double *values,
                     double *keys);
int64_t fednl_randk_indices(int64_t total, int64_t k, fednl_random *rng, int32_t *indices, uint64_t *bitmap);
int64_t fednl_randseqk_indices(int64_t total, int64_t k, fednl_random *rng, int32_t *indices, int64_t *start);
void fednl_natural(int64_t total, const double *m, fednl_random *rng, double *values);

#endif
