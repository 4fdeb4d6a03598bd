/* probe.c - the machine probes of fednl.h (fednl_probe_*): argument checks, the reference loops, and the choice of
 * the AVX2 loops (avx2/probe_avx2.c) or AVX-512 ones (avx512/probe_avx512.c) when that variant is active. */
#include "internal.h"

#if defined(FEDNL_HAVE_AVX2_BUILD)
/* The AVX2 loops run for the AVX2 variant and for the AVX-512 one where it has none of its own (streaming). */
static int use_avx2(void) {
    int32_t variant = fednl_active_variant();
    return variant == FEDNL_KERNEL_AVX2 || variant == FEDNL_KERNEL_AVX512;
}
#endif

#if defined(FEDNL_HAVE_AVX512_BUILD)
static int use_avx512(void) { return fednl_active_variant() == FEDNL_KERNEL_AVX512; }
#endif

static double stream_read_reference(const double *source, int64_t length, int64_t passes) {
    double total = 0.0;
    for (int64_t p = 0; p < passes; p++) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        int64_t i = 0;
        for (; i + 4 <= length; i += 4) {
            s0 += source[i];
            s1 += source[i + 1];
            s2 += source[i + 2];
            s3 += source[i + 3];
        }
        for (; i < length; i++) s0 += source[i];
        total += (s0 + s1) + (s2 + s3);
    }
    return total;
}

static double stream_triad_reference(const double *source, double *target, int64_t length, int64_t passes,
                                     double scale) {
    for (int64_t p = 0; p < passes; p++)
        for (int64_t i = 0; i < length; i++) target[i] += scale * source[i];
    return target[0] + target[length - 1];
}

static double fma_reference(int64_t iterations) {
    double acc[48];
    for (int c = 0; c < 48; c++) acc[c] = 1.0 + c * 1e-3;
    const double m = 0.999999, a = 1e-6;
    for (int64_t t = 0; t < iterations; t++)
        for (int c = 0; c < 48; c++) acc[c] = acc[c] * m + a;
    double sum = 0.0;
    for (int c = 0; c < 48; c++) sum += acc[c];
    return sum;
}

static double gather_reference(const int32_t *indices, int64_t count, const double *table, int64_t passes) {
    double total = 0.0;
    for (int64_t p = 0; p < passes; p++) {
        double s0 = 0.0, s1 = 0.0;
        int64_t k = 0;
        for (; k + 2 <= count; k += 2) {
            s0 += table[indices[k]];
            s1 += table[indices[k + 1]];
        }
        for (; k < count; k++) s0 += table[indices[k]];
        total += s0 + s1;
    }
    return total;
}

static int32_t check_sink(const char *function, double *sink, int64_t *work) {
    if (sink == NULL || work == NULL)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "%s: sink and the work output must not be null", function);
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_probe_stream(int32_t kind, const double *source, double *target, int64_t length,
                                     int64_t passes, double *sink, int64_t *bytes) {
    int32_t status = check_sink("probe_stream", sink, bytes);
    if (status != FEDNL_OK) return status;
    if (kind != FEDNL_PROBE_STREAM_READ && kind != FEDNL_PROBE_STREAM_TRIAD)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_stream: kind %d is not a fednl_probe_stream_kind", (int)kind);
    int64_t per_element = kind == FEDNL_PROBE_STREAM_READ ? 8 : 24;
    if (length < 1 || passes < 1 || length > INT64_MAX / per_element / passes)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_stream: need length >= 1 and passes >= 1 (bytes within 2^63), got %lld and %lld",
                          (long long)length, (long long)passes);
    if (source == NULL || (kind == FEDNL_PROBE_STREAM_TRIAD && target == NULL))
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_stream: source%s is null",
                          kind == FEDNL_PROBE_STREAM_TRIAD ? " or target" : "");
    const double scale = 1.0 / 1024.0;
    double result;
#if defined(FEDNL_HAVE_AVX2_BUILD)
    if (use_avx2())
        result = kind == FEDNL_PROBE_STREAM_READ ? fednl_probe_stream_read_avx2(source, length, passes)
                                                 : fednl_probe_stream_triad_avx2(source, target, length, passes, scale);
    else
#endif
        result = kind == FEDNL_PROBE_STREAM_READ ? stream_read_reference(source, length, passes)
                                                 : stream_triad_reference(source, target, length, passes, scale);
    *sink = result;
    *bytes = per_element * length * passes;
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_probe_fma(int64_t iterations, double *sink, int64_t *fmas) {
    int32_t status = check_sink("probe_fma", sink, fmas);
    if (status != FEDNL_OK) return status;
    if (iterations < 1 || iterations > INT64_MAX / 96)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_fma: need 1 <= iterations <= 2^63 / 96, got %lld",
                          (long long)iterations);
    int64_t per_iteration = 48;
#if defined(FEDNL_HAVE_AVX512_BUILD)
    if (use_avx512()) {
        *sink = fednl_probe_fma_avx512(iterations);
        per_iteration = 96;
    } else
#endif
#if defined(FEDNL_HAVE_AVX2_BUILD)
    if (use_avx2())
        *sink = fednl_probe_fma_avx2(iterations);
    else
#endif
        *sink = fma_reference(iterations);
    *fmas = per_iteration * iterations;
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_probe_gather(const int32_t *indices, int64_t count, const double *table, int64_t table_length,
                                     int64_t passes, double *sink, int64_t *gathers) {
    int32_t status = check_sink("probe_gather", sink, gathers);
    if (status != FEDNL_OK) return status;
    if (count < 1 || passes < 1 || count > INT64_MAX / passes || table_length < 1 || table_length > INT32_MAX)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT,
                          "probe_gather: need count >= 1, passes >= 1 and 1 <= table_length <= 2^31-1, got %lld, %lld and %lld",
                          (long long)count, (long long)passes, (long long)table_length);
    if (indices == NULL || table == NULL)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_gather: indices or table is null");
    for (int64_t k = 0; k < count; k++)
        if (indices[k] < 0 || indices[k] >= table_length)
            return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_gather: indices[%lld] = %d lies outside [0, %lld)",
                              (long long)k, (int)indices[k], (long long)table_length);
#if defined(FEDNL_HAVE_AVX512_BUILD)
    if (use_avx512())
        *sink = fednl_probe_gather_avx512(indices, count, table, passes);
    else
#endif
#if defined(FEDNL_HAVE_AVX2_BUILD)
    if (use_avx2())
        *sink = fednl_probe_gather_avx2(indices, count, table, passes);
    else
#endif
        *sink = gather_reference(indices, count, table, passes);
    *gathers = count * passes;
    return FEDNL_OK;
}

FEDNL_API int32_t fednl_probe_exp(const double *z, int64_t count, int64_t passes, double *sink, int64_t *exps) {
    int32_t status = check_sink("probe_exp", sink, exps);
    if (status != FEDNL_OK) return status;
    if (count < 1 || passes < 1 || count > INT64_MAX / passes)
        return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_exp: need count >= 1 and passes >= 1, got %lld and %lld",
                          (long long)count, (long long)passes);
    if (z == NULL) return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_exp: z is null");
    for (int64_t j = 0; j < count; j++)
        if (!isfinite(z[j]))
            return fednl_fail(FEDNL_ERR_INVALID_ARGUMENT, "probe_exp: z[%lld] is not finite", (long long)j);
    /* the oracle's loss step (fednl_logreg_sparse) with the active variant's loss_block, labels 1 */
    const fednl_vector_kernels *k = fednl_active_kernels();
    double labels[FEDNL_LOSS_BLOCK], coef[FEDNL_LOSS_BLOCK], weights[FEDNL_LOSS_BLOCK];
    for (int j = 0; j < FEDNL_LOSS_BLOCK; j++) labels[j] = 1.0;
    double total = 0.0;
    for (int64_t p = 0; p < passes; p++) {
        fednl_loss_sum loss = fednl_loss_sum_start();
        double last = 0.0;
        for (int64_t j = 0; j < count; j += FEDNL_LOSS_BLOCK) {
            int64_t block = count - j < FEDNL_LOSS_BLOCK ? count - j : FEDNL_LOSS_BLOCK;
            fednl_loss_sum_add(&loss, k, block, z + j, labels, 1.0, coef, weights);
            last += coef[block - 1] + weights[block - 1];
        }
        total += fednl_loss_sum_total(&loss) + last;
    }
    *sink = total;
    *exps = count * passes;
    return FEDNL_OK;
}
