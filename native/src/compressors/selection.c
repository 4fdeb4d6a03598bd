/* selection.c - squared Frobenius weights and the K-th largest key, shared by TopK and TopLEK. */
#include "compressor.h"

void fednl_entry_keys(int64_t dim, int64_t n, const int32_t *diagonal, const double *m, double *keys) {
    for (int64_t t = 0; t < n; t++) keys[t] = 2.0 * m[t] * m[t];
    for (int64_t i = 0; i < dim; i++) {
        int64_t t = diagonal != NULL ? diagonal[i] : fednl_packed_row_offset(dim, i);
        keys[t] = m[t] * m[t];
    }
}

static void swap_double(double *a, double *b) {
    double t = *a;
    *a = *b;
    *b = t;
}

double fednl_kth_largest(double *keys, int64_t n, int64_t k) {
    /* Quickselect for position k-1 in descending order. Hoare partition around the middle element's value
     * (after ordering lo, mid, hi) always leaves lo <= j < hi, so the range shrinks every pass; it stops on
     * equal keys, so long runs of equal keys (zeros) still split evenly. */
    int64_t lo = 0, hi = n - 1, target = k - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (keys[mid] > keys[lo]) swap_double(&keys[mid], &keys[lo]);
        if (keys[hi] > keys[lo]) swap_double(&keys[hi], &keys[lo]);
        if (keys[hi] > keys[mid]) swap_double(&keys[hi], &keys[mid]);
        double pivot = keys[mid];
        int64_t i = lo - 1, j = hi + 1;
        for (;;) {
            do i++; while (keys[i] > pivot);
            do j--; while (keys[j] < pivot);
            if (i >= j) break;
            swap_double(&keys[i], &keys[j]);
        }
        if (target <= j) hi = j;
        else lo = j + 1;
    }
    return keys[target];
}

static void swap_index(int32_t *a, int32_t *b) {
    int32_t t = *a;
    *a = *b;
    *b = t;
}

void fednl_sort_indices(int32_t *a, int64_t n) {
    while (n > 24) {
        int32_t pivot = a[n / 2];
        int64_t i = -1, j = n;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j) break;
            swap_index(&a[i], &a[j]);
        }
        /* recurse into the smaller half, loop on the larger: stack depth stays O(log n) */
        if (j + 1 < n - j - 1) {
            fednl_sort_indices(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            fednl_sort_indices(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    for (int64_t i = 1; i < n; i++) {
        int32_t v = a[i];
        int64_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}
