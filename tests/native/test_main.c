/* test_main.c - runs one named native test case; CTest registers each case once per kernel variant
 * (FEDNL_KERNEL=reference / avx2 / avx512). Exit 0 passed, 1 failed, 77 skipped with a printed reason. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define TEST_CASES(X)                                                                                        \
    X(csr_check_accepts_valid)                                                                               \
    X(csr_check_names_bad_row)                                                                               \
    X(csr_to_dense_matches_plain)                                                                            \
    X(csr_to_dense_refuses_bad_input)                                                                        \
    X(logreg_sparse_matches_dense_reference)                                                                 \
    X(logreg_sparse_handles_empty_rows_and_clients)                                                          \
    X(logreg_gradient_matches_finite_differences)                                                            \
    X(logreg_hessian_matches_finite_differences)                                                             \
    X(logreg_dense_matches_sparse)                                                                           \
    X(logreg_dense_variants_agree_bitwise)                                                                   \
    X(logreg_loss_is_stable_for_large_margins)                                                               \
    X(logreg_rejects_bad_arguments)                                                                          \
    X(loss_exp_is_within_an_ulp)                                                                             \
    X(loss_step_variants_agree_bitwise)                                                                      \
    X(loss_sum_keeps_its_precision)                                                                          \
    X(packed_solve_small_residual)                                                                           \
    X(packed_solve_reports_not_positive_definite)                                                            \
    X(packed_solve_checks_workspace)                                                                         \
    X(packed_norm_matches_reference)                                                                         \
    X(last_error_truncates_and_reports_length)                                                               \
    X(kernel_variant_selection)                                                                              \
    X(compress_identical_is_exact)                                                                           \
    X(compress_topk_keeps_largest_and_contracts)                                                             \
    X(compress_toplek_meets_bound_in_expectation)                                                            \
    X(compress_random_kinds_are_unbiased)                                                                    \
    X(compress_randseqk_wraps)                                                                               \
    X(compress_natural_rounds_to_powers_of_two)                                                              \
    X(compress_indices_regenerate)                                                                           \
    X(compress_rejects_bad_arguments)                                                                        \
    X(compress_topk_breaks_ties_by_position)                                                                 \
    X(compress_refuses_short_outputs)                                                                        \
    X(compress_indices_refuses_short_indices)                                                                \
    X(compress_natural_variants_agree_bitwise)                                                               \
    X(compress_natural_draws_follow_positions)                                                               \
    X(compress_natural_lanes_are_independent)                                                                \
    X(compress_randk_matches_plain_floyd)                                                                    \
    X(compress_toplek_matches_plain_selection)                                                               \
    X(compress_permk_blocks_partition_the_entries)                                                           \
    X(compress_permk_entries_reach_every_block_uniformly)                                                    \
    X(compress_permk_is_unbiased_with_omega_n_minus_1)                                                       \
    X(compress_permk_rejects_more_clients_than_entries)                                                      \
    X(plan_hessian_matches_reference)                                                                        \
    X(plan_hessian_variants_agree_bitwise)                                                                   \
    X(plan_dense_kind_is_every_entry)                                                                        \
    X(pattern_step_matches_compress)                                                                         \
    X(pattern_step_remaining_norm)                                                                           \
    X(plan_rejects_bad_arguments)                                                                            \
    X(pattern_multiply_matches_dense)                                                                        \
    X(plan_hessian_refuses_short_buffers)                                                                    \
    X(pattern_multiply_refuses_short_buffers)                                                                \
    X(pattern_step_refuses_short_buffers)                                                                \
    X(pattern_step_selection_variants_agree_bitwise)                                                         \
    X(pattern_step_topk_matches_plain_selection)                                                             \
    X(dense_hessian_matches_plain_sums)                                                                      \
    X(dense_hessian_matches_finite_differences)                                                              \
    X(dense_step_matches_pattern_step)                                                                       \
    X(dense_step_variants_agree_bitwise)                                                                     \
    X(dense_step_rejects_bad_arguments)                                                                      \
    X(pattern_step_norm_avx512_matches_avx2)                                                                 \
    X(probes_report_work)                                                                                    \
    X(probes_reject_bad_arguments)

#define DECLARE(name) void test_##name(void);
TEST_CASES(DECLARE)

typedef struct test_case { const char *name; void (*run)(void); } test_case;
#define ENTRY(name) {#name, test_##name},
static const test_case cases[] = {TEST_CASES(ENTRY)};

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST_CASE\n", argv[0]);
        return 2;
    }
    /* The variant comes from FEDNL_KERNEL; a CPU that cannot run it skips, saying so. */
    if (fednl_set_kernel_variant(FEDNL_KERNEL_AUTO) != FEDNL_OK) {
        char message[FEDNL_ERROR_CAPACITY];
        fednl_last_error(message, sizeof message);
        printf("SKIPPED: %s\n", message);
        return 77;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].run();
            if (test_skipped != NULL && test_failures == 0) {
                printf("SKIPPED: %s\n", test_skipped);
                return 77;
            }
            if (test_failures == 0) printf("ok %s\n", argv[1]);
            return test_failures == 0 ? 0 : 1;
        }
    }
    fprintf(stderr, "unknown test case '%s'\n", argv[1]);
    return 2;
}
