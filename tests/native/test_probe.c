/* test_probe.c - the machine probes: exact work counts, finite results, refused arguments. */
#include "test_util.h"

#include <math.h>

void test_probes_report_work(void);
void test_probes_reject_bad_arguments(void);

void test_probes_report_work(void) {
    enum { n = 1003 };
    static double source[n], target[n], z[n];
    static int32_t indices[n];
    for (int i = 0; i < n; i++) {
        source[i] = 1.0;
        target[i] = 0.0;
        z[i] = (i % 41) - 20.0;
        indices[i] = (int32_t)((i * 37) % 64);
    }
    double sink = 0.0;
    int64_t work = 0;
    CHECK_STATUS(fednl_probe_stream(FEDNL_PROBE_STREAM_READ, source, NULL, n, 3, &sink, &work), FEDNL_OK);
    CHECK(work == 8LL * n * 3);
    CHECK(sink == 3.0 * n); /* sums of ones are exact */
    CHECK_STATUS(fednl_probe_stream(FEDNL_PROBE_STREAM_TRIAD, source, target, n, 4, &sink, &work), FEDNL_OK);
    CHECK(work == 24LL * n * 4);
    CHECK(target[0] == 4.0 / 1024.0 && target[n - 1] == 4.0 / 1024.0);
    CHECK(isfinite(sink) && sink > 0.0);
    fednl_build_info info;
    CHECK_STATUS(fednl_get_build_info(&info), FEDNL_OK);
    CHECK_STATUS(fednl_probe_fma(1000, &sink, &work), FEDNL_OK);
    CHECK(work == (info.active_variant == FEDNL_KERNEL_AVX512 ? 96000 : 48000)); /* 8 lanes a chain with AVX-512 */
    CHECK(isfinite(sink) && sink > 0.0);
    CHECK_STATUS(fednl_probe_gather(indices, n, source, 64, 2, &sink, &work), FEDNL_OK);
    CHECK(work == 2LL * n);
    CHECK(sink == 2.0 * n);
    CHECK_STATUS(fednl_probe_exp(z, n, 2, &sink, &work), FEDNL_OK);
    CHECK(work == 2LL * n);
    CHECK(isfinite(sink) && sink > 0.0);
}

void test_probes_reject_bad_arguments(void) {
    double buffer[8] = {0}, sink = 0.0;
    int32_t indices[4] = {0, 1, 2, 8};
    int64_t work = -1;
    CHECK_FAILURE(fednl_probe_stream(2, buffer, buffer, 8, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT,
                  "probe_stream: kind 2 is not a fednl_probe_stream_kind");
    CHECK_STATUS(fednl_probe_stream(FEDNL_PROBE_STREAM_READ, buffer, NULL, 0, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_stream(FEDNL_PROBE_STREAM_READ, buffer, NULL, 8, 0, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_stream(FEDNL_PROBE_STREAM_READ, buffer, NULL, INT64_MAX / 4, 1, &sink, &work),
                 FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_FAILURE(fednl_probe_stream(FEDNL_PROBE_STREAM_TRIAD, buffer, NULL, 8, 1, &sink, &work),
                  FEDNL_ERR_INVALID_ARGUMENT, "probe_stream: source or target is null");
    CHECK_STATUS(fednl_probe_stream(FEDNL_PROBE_STREAM_READ, NULL, NULL, 8, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_stream(FEDNL_PROBE_STREAM_READ, buffer, NULL, 8, 1, NULL, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_fma(0, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_fma(INT64_MAX / 47, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_fma(10, &sink, NULL), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_FAILURE(fednl_probe_gather(indices, 4, buffer, 8, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT,
                  "probe_gather: indices[3] = 8 lies outside [0, 8)");
    indices[3] = -1;
    CHECK_STATUS(fednl_probe_gather(indices, 4, buffer, 8, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_gather(indices, 0, buffer, 8, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_gather(indices, 3, buffer, 0, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_gather(NULL, 3, buffer, 8, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    buffer[2] = NAN;
    CHECK_FAILURE(fednl_probe_exp(buffer, 8, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT, "probe_exp: z[2] is not finite");
    CHECK_STATUS(fednl_probe_exp(buffer, 0, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_exp(buffer, 2, 0, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(fednl_probe_exp(NULL, 2, 1, &sink, &work), FEDNL_ERR_INVALID_ARGUMENT);
    CHECK(work == -1); /* failures leave the outputs unchanged */
}
