using System.Diagnostics;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Messages;
using Fednl.Reporting;

namespace Fednl.Clients;

/// <summary>
/// The client role of FedNL: holds one client's data, its Hessian plan, its Hessian shift H_i and, for FedNL-PP, its
/// local model w_i, l_i and g_i. Given the model it produces the round's message (spec section 3).
/// H_i is kept over the client's Hessian pattern (<see cref="HessianPlan"/>): the Hessian is zero off the pattern,
/// so M_i, S_i and H_i are too, and a round touches P entries instead of D.
/// </summary>
public sealed class FedNLClient
{
    /// <summary>A dense client's rows as a row-major m × d matrix (null on the sparse path).</summary>
    private readonly double[]? _denseRows;

    public FedNLClient(int id, Dataset data, double lambda, HessianPath path)
    {
        Id = id;
        Data = data;
        Lambda = lambda;
        Dimension = data.Features;
        UsesDenseHessian = ChoosesDense(data, path);
        if (UsesDenseHessian)
        {
            // Held beside the CSR for the whole run: writing it out each round instead (fednl_csr_to_dense into the
            // worker's scratch) saved 5 MB of phishing's 61 but made its rounds 25 % slower (randseqk, 1.35 → 1.70 s).
            _denseRows = new double[(long)data.Samples * Dimension];
            Csr.ToDense(_denseRows);
        }
        UsesFusedStep = UsesDenseHessian && FitsFusedStep(data.Samples, Dimension);
        Plan = HessianPlan.Build(Csr, UsesDenseHessian);
        Shift = new double[Plan.PatternLength];
    }

    public int Id { get; }
    public Dataset Data { get; }
    public double Lambda { get; }
    public int Dimension { get; }
    public int Samples => Data.Samples;

    /// <summary>True when this client forms its Hessian with OpenBLAS on a dense copy of its rows.</summary>
    public bool UsesDenseHessian { get; }

    /// <summary>
    /// True when this dense client forms its Hessian inside the fused dense step (<see cref="HessianCompressor.DenseStep"/>)
    /// instead of through OpenBLAS dsyrk (<see cref="FitsFusedStep"/>).
    /// </summary>
    public bool UsesFusedStep { get; }

    /// <summary>
    /// The fused step sums m products per packed entry in a fixed order and saves dsyrk's d × d output, its packing, the
    /// plan's copy and the separate passes over the Hessian, M and the shift. With AVX2 it forms the Hessian in panels
    /// of four packed rows (register tiles of 4 × 12 entries, ≈ 15–22 G multiply-adds/s on one core here) when the client
    /// has at most <see cref="FusedPanelRowLimit"/> rows and <see cref="FusedPanelFeatureLimit"/> features (its panel
    /// buffers, native/src/avx2/dense_step_avx2.c; the AVX-512 table uses the same step), else row by row in strips.
    /// Measured per client and round (oracle + step, identical, one core, best of 7), fused against dsyrk: 77 × 69 (phishing-sized) 12 against 18 µs, 12 × 500
    /// 112 against 230 µs, 256 × 500 1.43 against 1.90 ms, 300 × 500 1.69 against 2.01 ms, 600 × 500 4.0 against 4.1 ms
    /// (the rows no longer fit in the 1 MB L2), 2000 × 69 334 against 420 µs; in strips 24 × 1500 3.0 against 4.5 ms but
    /// 48 × 1100 2.75 against 2.72 ms. So clients whose dense rows fit in 1 MB (m·d ≤ 2^17) take panels and any client
    /// of at most <see cref="FusedStepRowLimit"/> rows takes the step. Bounds on the data alone: every process and thread
    /// count picks the same path.
    /// </summary>
    public const int FusedStepRowLimit = 24;

    /// <summary>The AVX2 panels' bounds (PANEL_MAX_SAMPLES and PANEL_BUFFER / 4 − 4 in dense_step_avx2.c).</summary>
    public const int FusedPanelRowLimit = 1024, FusedPanelFeatureLimit = 1020;

    /// <summary>Dense rows (m·d doubles) a client may have for the fused step's panels: 1 MB, this core's L2.</summary>
    public const long FusedPanelEntryLimit = 1 << 17;

    /// <summary>Whether a dense client of <paramref name="samples"/> rows and <paramref name="features"/> columns takes the fused step.</summary>
    public static bool FitsFusedStep(int samples, int features) =>
        samples <= FusedStepRowLimit || (samples <= FusedPanelRowLimit && features <= FusedPanelFeatureLimit
                                         && (long)samples * features <= FusedPanelEntryLimit);

    /// <summary>The client's Hessian pattern and, on the sparse path, the gathers that form it.</summary>
    public HessianPlan Plan { get; }

    /// <summary>H_i over the pattern (<see cref="HessianPlan.Pattern"/>); every other entry of H_i is zero.</summary>
    public double[] Shift { get; }

    /// <summary>FedNL-PP state: the model the client last computed at, l_i and g_i = (H_i + l_i I) w_i − ∇f_i(w_i).</summary>
    public double[]? LocalModel { get; private set; }
    public double LocalDifferenceNorm { get; private set; }
    public double[]? LocalGradientTerm { get; private set; }

    /// <summary>Doubles of dense-oracle workspace this client needs (0 on the sparse path).</summary>
    public long DenseWorkspaceLength => UsesDenseHessian ? LogisticOracle.DenseWorkspaceLength(Samples, Dimension) : 0;

    /// <summary>
    /// The sparse plan gathers Σ_j nnz_j(nnz_j+1)/2 row weights per Hessian (≈ 0.3–0.4 ns each with AVX2), the dense
    /// path pays m·D multiply-adds in OpenBLAS dsyrk, ≈ 0.08 ns each for 350 × 301 clients but ≈ 0.16 ns for small
    /// ones, where the call's overhead shows. Measured (managed/Fednl.Benchmarks and the bench's phases): 350 × 301
    /// clients at 44 % density (0.19 m·D gathers) break even, 1.40 vs 1.30 ms. So a client whose dense path is dsyrk
    /// uses the plan up to 0.35 m·D gathers; that also bounds its memory (2 bytes per gather) by the work of a dense
    /// round. Clients that take the fused step (<see cref="FitsFusedStep"/>) use <see cref="FusedGatherRatio"/>.
    /// </summary>
    public const double DenseGatherRatio = 0.35;

    /// <summary>
    /// The plan's bound for clients that would take the fused step (≈ 0.04–0.07 ns a multiply-add there, 15–25 G/s).
    /// Measured on 142 generated clients of 77 × 69 (binary features and an intercept, randseqk, 300 rounds, train +
    /// setup, plan against fused, medians of 3 interleaved pairs): 0.05 m·D gathers 0.51 against 0.60 s, 0.10 m·D 0.68
    /// against 0.62 s, 0.14 m·D 0.76 against 0.63 s; phishing (0.21 m·D, 1000 rounds, 5 pairs) 0.57–0.70 of the
    /// plan's time (randseqk, topk, natural, identical) with ≈ 10 MB less peak memory. So those clients use the plan up to 0.1 m·D gathers: w8a (0.003 m·D) and
    /// a9a (≈ 0.016 m·D) keep it, phishing goes dense.
    /// </summary>
    public const double FusedGatherRatio = 0.1;

    /// <summary>Whether a client on <paramref name="data"/> forms its Hessian on the dense path.</summary>
    internal static bool ChoosesDense(Dataset data, HessianPath path) =>
        path == HessianPath.Dense || (path == HessianPath.Auto && PrefersDense(data));

    private static bool PrefersDense(Dataset data)
    {
        if (data.Samples == 0) return false;
        double pairs = 0;
        for (int j = 0; j < data.Samples; j++)
        {
            double nnz = data.RowPointers[j + 1] - data.RowPointers[j];
            pairs += nnz * (nnz + 1) / 2;
        }
        double ratio = FitsFusedStep(data.Samples, data.Features) ? FusedGatherRatio : DenseGatherRatio;
        return pairs > ratio * data.Samples * ((double)data.Features * (data.Features + 1) / 2);
    }

    /// <summary>What the roofline's work counts need of this client.</summary>
    public ClientShape Shape => new(Samples, Data.RowPointers[Samples], Plan.Pairs, Plan.PatternLength, Plan.Bytes, UsesDenseHessian,
        Plan.ValuedEntries > 0, UsesFusedStep);

    /// <summary>The shapes of the clients a run with this split trains (plans built as training builds them).</summary>
    public static ClientShape[] Shapes(IReadOnlyList<Dataset> clients, HessianPath path = HessianPath.Auto) =>
        clients.Select((data, i) => new FedNLClient(i, data, 1e-3, path).Shape).ToArray();

    private CsrSpan Csr => new(Data.RowPointers, Data.ColumnIndices, Data.Values, Dimension);

    /// <summary>f_i(x), and ∇f_i(x) / ∇²f_i(x) over the pattern into the given spans when they are not empty.</summary>
    public double Evaluate(ReadOnlySpan<double> x, ClientScratch scratch, Span<double> gradient, Span<double> hessian)
    {
        double loss = Oracle(x, scratch, gradient, !hessian.IsEmpty);
        if (!hessian.IsEmpty) Hessian(scratch, hessian);
        return loss;
    }

    /// <summary>
    /// Margins, f_i and ∇f_i; with <paramref name="withHessian"/> also what the Hessian is formed from: the row weights
    /// (sparse path, fused step) or the packed Hessian by dsyrk (other dense clients).
    /// </summary>
    private double Oracle(ReadOnlySpan<double> x, ClientScratch scratch, Span<double> gradient, bool withHessian)
    {
        var margins = scratch.Margins.AsSpan(0, Samples);
        var weights = withHessian ? scratch.Weights.AsSpan(0, Samples) : default;
        if (UsesDenseHessian)
            return LogisticOracle.EvaluateDense(_denseRows, Samples, Dimension, Data.Labels, x, Lambda, margins, gradient,
                withHessian && !UsesFusedStep ? scratch.Packed : default, scratch.DenseWorkspace,
                UsesFusedStep ? weights : default);
        return LogisticOracle.EvaluateSparse(Csr, Data.Labels, x, Lambda, margins, gradient, weights: weights);
    }

    /// <summary>The Hessian over the pattern at the x of the last <see cref="Oracle"/> call (made with withHessian).</summary>
    private void Hessian(ClientScratch scratch, Span<double> hessian)
    {
        if (UsesFusedStep) LogisticOracle.DenseHessian(_denseRows, Samples, Dimension, scratch.Weights.AsSpan(0, Samples), Lambda, hessian);
        else Plan.Hessian(scratch.Weights.AsSpan(0, Samples + 1), Lambda, UsesDenseHessian ? scratch.Packed : default, hessian);
    }

    /// <summary>
    /// The shift step at the x of the last <see cref="Oracle"/> call (made with withHessian): fused with forming the
    /// Hessian for <see cref="UsesFusedStep"/> clients, else on the Hessian that <see cref="Hessian"/> formed in
    /// <paramref name="difference"/> (scratch.PatternHessian over the pattern). Returns ‖M‖_F.
    /// </summary>
    private double ShiftStep(ClientScratch scratch, Span<double> difference, double alpha, ulong compressorSeed,
        ClientReply update, bool remaining, out double remainingNorm) =>
        UsesFusedStep
            ? scratch.Compressor.DenseStep(_denseRows, Samples, scratch.Weights.AsSpan(0, Samples), Lambda, difference, Shift,
                alpha, compressorSeed, update.Difference!, remaining, out remainingNorm, client: Id)
            : scratch.Compressor.PatternStep(Plan, difference, Shift, alpha, compressorSeed, update.Difference!, remaining,
                out remainingNorm, client: Id);

    /// <summary>Start of training: H_i⁰ = ∇²f_i(x⁰).</summary>
    public void InitializeShift(ReadOnlySpan<double> x0, ClientScratch scratch) => Evaluate(x0, scratch, default, Shift);

    /// <summary>H_i as a packed matrix (D entries).</summary>
    public void CopyShiftTo(Span<double> packed) => Plan.Expand(Shift, packed);

    /// <summary>Sets H_i from a packed matrix, which must vanish off the client's pattern (a restored state).</summary>
    public void LoadShift(ReadOnlySpan<double> packed) => Plan.Compact(packed, Shift);

    /// <summary>
    /// One FedNL round: g_i = ∇f_i(x), M_i = ∇²f_i(x) − H_i, S_i = C(M_i), l_i = ‖M_i‖_F, then H_i += α S_i.
    /// Timers: oracle (margins, f, ∇f, row weights, and dsyrk for dense clients off the fused step), Hessian (the plan's
    /// gathers or copy), compression (M, its norm, C(M), the shift update). The fused dense step forms its Hessian
    /// inside the compression pass, so for those clients the Hessian's time is reported under compression.
    /// </summary>
    public void Round(ReadOnlySpan<double> x, int round, double alpha, ulong compressorSeed, ClientScratch scratch, ClientReply update)
    {
        update.Round = round;
        long t0 = Stopwatch.GetTimestamp();
        update.Loss = Oracle(x, scratch, update.Gradient, withHessian: true);
        long t1 = Stopwatch.GetTimestamp();
        var difference = scratch.PatternHessian.AsSpan(0, Plan.PatternLength);
        if (!UsesFusedStep) Hessian(scratch, difference);
        long t2 = Stopwatch.GetTimestamp();
        update.DifferenceNorm = ShiftStep(scratch, difference, alpha, compressorSeed, update, remaining: false, out _);
        long t3 = Stopwatch.GetTimestamp();
        scratch.Ticks.Oracle += t1 - t0;
        scratch.Ticks.Hessian += t2 - t1;
        scratch.Ticks.Compression += t3 - t2;
    }

    /// <summary>FedNL-PP start: w_i = x⁰, H_i⁰ = ∇²f_i(x⁰), l_i = 0, g_i = H_i w_i − ∇f_i(w_i).</summary>
    public void InitializePartialParticipation(ReadOnlySpan<double> x0, ClientScratch scratch)
    {
        LocalModel = x0.ToArray();
        LocalGradientTerm = new double[Dimension];
        LocalDifferenceNorm = 0;
        Evaluate(x0, scratch, scratch.Vector, Shift);
        SetGradientTerm(x0, 0, scratch.Vector);
    }

    /// <summary>
    /// FedNL-PP state handed back by the master (rejoin, resume): <see cref="Shift"/> already holds H_i; sets w_i and
    /// l_i and recomputes g_i = (H_i + l_i I) w_i − ∇f_i(w_i) exactly as <see cref="Participate"/> formed it.
    /// </summary>
    public void RestorePartialParticipation(ReadOnlySpan<double> localModel, double differenceNorm, ClientScratch scratch)
    {
        LocalModel = localModel.ToArray();
        LocalGradientTerm ??= new double[Dimension];
        LocalDifferenceNorm = differenceNorm;
        Evaluate(localModel, scratch, scratch.Vector, default);
        SetGradientTerm(localModel, differenceNorm, scratch.Vector);
    }

    /// <summary>g_i = (H_i + l I) w − ∇f_i(w).</summary>
    private void SetGradientTerm(ReadOnlySpan<double> w, double l, ReadOnlySpan<double> gradient)
    {
        Plan.Multiply(Shift, l, w, LocalGradientTerm);
        for (int i = 0; i < Dimension; i++) LocalGradientTerm![i] -= gradient[i];
    }

    /// <summary>
    /// FedNL-PP participation: w_i = x, H_i += α C(∇²f_i(w_i) − H_i), l_i = ‖H_i − ∇²f_i(w_i)‖_F,
    /// g_i = (H_i + l_i I) w_i − ∇f_i(w_i). The update carries S_i, Δl_i (DifferenceNormDelta) and Δg_i (Gradient).
    /// </summary>
    public void Participate(ReadOnlySpan<double> x, int round, double alpha, ulong compressorSeed, ClientScratch scratch, ClientReply update)
    {
        if (LocalModel is null || LocalGradientTerm is null)
            throw new InvalidOperationException("InitializePartialParticipation must run before Participate");
        update.Round = round;
        x.CopyTo(LocalModel);
        var gradient = scratch.Vector;
        var difference = scratch.PatternHessian.AsSpan(0, Plan.PatternLength);
        update.Loss = Oracle(x, scratch, gradient, withHessian: true);
        if (!UsesFusedStep) Hessian(scratch, difference);
        ShiftStep(scratch, difference, alpha, compressorSeed, update, remaining: true, out double l);
        update.DifferenceNorm = l;
        update.DifferenceNormDelta = l - LocalDifferenceNorm;
        LocalDifferenceNorm = l;
        // g_i(new) = (H_i + l I) w − ∇f_i(w); send the change.
        var newTerm = update.Gradient;
        Plan.Multiply(Shift, l, x, newTerm);
        for (int i = 0; i < Dimension; i++)
        {
            double value = newTerm[i] - gradient[i];
            newTerm[i] = value - LocalGradientTerm[i];
            LocalGradientTerm[i] = value;
        }
    }
}
