/* dense_step_panels.h - the fused dense client step's panels, strips and entry point (dense_step_parts.h), included
 * after a panel_tile of TILE_LANES entries a vector and with DENSE_STEP_NAME defined. */
/* Row i's length entries from h (padded to whole vectors) at packed offset e, as strip finishes them: vector q of
 * the row goes to the even sums when q is even, vector 0 holds the diagonal. */
static inline __attribute__((always_inline)) void finish_row(const fednl_dense_job *job, const double *h, int64_t e,
                                                             int64_t length, dense_sums_avx2 *sums) {
    int count = length & 3 ? (int)(length & 3) : 4;
    int64_t vectors = (length + 3) / 4, q = 1;
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)first_lanes_mask[count & 3]);
    if (vectors == 1) {
        finish4(job, load4(h, count, mask), 0, 1, e, count, mask, sums);
        return;
    }
    finish4(job, _mm256_loadu_pd(h), 0, 1, e, 4, mask, sums);
    for (; q + 2 < vectors; q += 2) { /* q odd */
        finish4(job, _mm256_loadu_pd(h + 4 * q), 1, 0, e + 4 * q, 4, mask, sums);
        finish4(job, _mm256_loadu_pd(h + 4 * q + 4), 0, 0, e + 4 * q + 4, 4, mask, sums);
    }
    if (q + 1 < vectors) { /* an odd full vector, then the even last one */
        finish4(job, _mm256_loadu_pd(h + 4 * q), 1, 0, e + 4 * q, 4, mask, sums);
        finish4(job, load4(h + 4 * q + 4, count, mask), 0, 0, e + 4 * q + 4, count, mask, sums);
    } else
        finish4(job, load4(h + 4 * q, count, mask), 1, 0, e + 4 * q, count, mask, sums);
}

/* Packed rows i .. i + PANEL_ROWS - 1 (those below dim), their Hessian formed tile by tile, then finished in order. */
static void panel(const fednl_dense_job *job, int64_t i, double *weighted, double *h, dense_sums_avx2 *sums) {
    int64_t dim = job->dim, width = dim - i, stride = dim + 4, t = 0;
    int live = width < PANEL_ROWS ? (int)width : PANEL_ROWS;
    /* one product per lane, rounded as the reference's w_j * a_ji; rows past dim get 0 (their tiles are formed but
     * never finished) */
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)first_lanes_mask[live & 3]);
    const double *from = job->a + i;
    for (int64_t j = 0; j < job->rows; j++, from += dim)
        _mm256_storeu_pd(weighted + PANEL_ROWS * j, _mm256_mul_pd(_mm256_set1_pd(job->weights[j]), load4(from, live, mask)));
    panel_ahead ahead = next_panel_lines(job, i, width);
    for (; t + TILE_LANES * PANEL_VECTORS <= width; t += TILE_LANES * PANEL_VECTORS)
        panel_tile(job, weighted, i + t, PANEL_VECTORS, TILE_LANES, h + t, stride, &ahead);
    int rest = (int)(width - t), count = rest % TILE_LANES ? rest % TILE_LANES : TILE_LANES;
    switch ((rest + TILE_LANES - 1) / TILE_LANES) {
    case 1: panel_tile(job, weighted, i + t, 1, count, h + t, stride, &ahead); break;
    case 2: panel_tile(job, weighted, i + t, 2, count, h + t, stride, &ahead); break;
    case 3: panel_tile(job, weighted, i + t, 3, count, h + t, stride, &ahead); break;
    default: break;
    }
    for (int r = 0; r < live; r++) {
        int64_t row = fednl_packed_row_offset(dim, i + r);
        sums->counters = fednl_counters_avx2(job->key, row);
        /* row i + r starts at column i + r: position r of the panel's row r */
        finish_row(job, h + r * stride + r, row, width - r, sums);
    }
}

/* Packed row i in strips of up to 48 entries, each formed and finished in registers. */
static void row_in_strips(const fednl_dense_job *job, int64_t i, dense_sums_avx2 *sums) {
    int64_t length = job->dim - i, row = fednl_packed_row_offset(job->dim, i), t = 0;
    sums->counters = fednl_counters_avx2(job->key, row);
    for (; t + 48 <= length; t += 48) strip(job, i, t, row + t, 12, 4, sums);
    /* the rest of the row in one strip, so that its accumulators' chains overlap */
    int rest = (int)(length - t), count = rest & 3 ? rest & 3 : 4;
    switch ((rest + 3) / 4) {
    case 1: strip(job, i, t, row + t, 1, count, sums); break;
    case 2: strip(job, i, t, row + t, 2, count, sums); break;
    case 3: strip(job, i, t, row + t, 3, count, sums); break;
    case 4: strip(job, i, t, row + t, 4, count, sums); break;
    case 5: strip(job, i, t, row + t, 5, count, sums); break;
    case 6: strip(job, i, t, row + t, 6, count, sums); break;
    case 7: strip(job, i, t, row + t, 7, count, sums); break;
    case 8: strip(job, i, t, row + t, 8, count, sums); break;
    case 9: strip(job, i, t, row + t, 9, count, sums); break;
    case 10: strip(job, i, t, row + t, 10, count, sums); break;
    case 11: strip(job, i, t, row + t, 11, count, sums); break;
    case 12: strip(job, i, t, row + t, 12, count, sums); break;
    default: break;
    }
}

void DENSE_STEP_NAME(const fednl_dense_job *given, fednl_dense_sums *out) {
    const fednl_dense_job job = *given; /* a local copy: the stores cannot alias it, so its fields stay in registers */
    dense_sums_avx2 sums;
    sums.squares_even = sums.squares_odd = sums.remaining_even = sums.remaining_odd = _mm256_setzero_pd();
    sums.diagonal = sums.remaining_diagonal = 0.0;
    int64_t dim = job.dim;
    if (PANEL_ROWS * (dim + 4) <= PANEL_BUFFER && job.rows <= PANEL_MAX_SAMPLES) {
        /* The first dim mod 4 rows go in strips, so that every panel's rows are dim - i = 0 mod 4 wide and its tiles
         * compute no padding past the rows' ends (d = 69: 8 % fewer FMAs). Rows are still finished in order. */
        double h[PANEL_BUFFER], weighted[PANEL_ROWS * PANEL_MAX_SAMPLES];
        int64_t first = dim % PANEL_ROWS;
        for (int64_t i = 0; i < first; i++) row_in_strips(&job, i, &sums);
        for (int64_t i = first; i < dim; i += PANEL_ROWS) panel(&job, i, weighted, h, &sums);
    } else
        for (int64_t i = 0; i < dim; i++) row_in_strips(&job, i, &sums);
    _mm256_storeu_pd(out->squares, sums.squares_even);
    _mm256_storeu_pd(out->squares + 4, sums.squares_odd);
    _mm256_storeu_pd(out->remaining, sums.remaining_even);
    _mm256_storeu_pd(out->remaining + 4, sums.remaining_odd);
    out->diagonal = sums.diagonal;
    out->remaining_diagonal = sums.remaining_diagonal;
}
