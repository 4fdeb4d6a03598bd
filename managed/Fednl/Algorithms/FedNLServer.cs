using System.Diagnostics;
using Fednl.Compression;
using Fednl.Interop;
using Fednl.Kernels;
using Fednl.Messages;

namespace Fednl.Algorithms;

/// <summary>
/// The server role of FedNL: holds the model x, the aggregated Hessian estimate H = (1/n) Σ H_i (packed) and the
/// round's aggregates; while a networked run has lost clients, every mean (f, g, l and H) is over the clients that
/// answered, so the run minimises the remaining clients' objective. Client contributions are always summed in client-id order, so results do not depend on
/// which client finished first.
/// </summary>
public sealed class FedNLServer : IDisposable
{
    private readonly CholeskySolver _solver;
    private readonly double[] _step;
    private readonly double[] _snapshot;
    private readonly SideThread _side = new("fednl-server-fold");
    private readonly Action _foldPending;
    private readonly bool[] _foldAnswered;
    private ClientReply[]? _foldUpdates;
    private double _foldAlpha;
    private int _foldFrom;
    private long _sideFoldTicks;
    /// <summary>Share of H's entries the solving thread folds after its solve, tuned from the last round's timings.</summary>
    private double _mainFoldShare;

    public FedNLServer(int dimension, int clients, double lambda)
    {
        if (clients < 1) throw new ArgumentOutOfRangeException(nameof(clients), clients, "at least one client");
        Dimension = dimension;
        Clients = clients;
        Members = clients;
        Lambda = lambda;
        Model = new double[dimension];
        Hessian = new double[PackedSymmetric.Length(dimension)];
        Gradient = new double[dimension];
        _step = new double[dimension];
        _snapshot = new double[Hessian.Length];
        _foldAnswered = new bool[clients];
        _foldPending = () =>
        {
            long start = Stopwatch.GetTimestamp();
            FoldRange(_foldUpdates!, _foldAnswered.AsSpan(0, _foldUpdates!.Length), _foldAlpha, _foldFrom, Hessian.Length);
            _sideFoldTicks = Stopwatch.GetTimestamp() - start;
        };
        _solver = new CholeskySolver(dimension);
    }

    public int Dimension { get; }
    public int Clients { get; }

    /// <summary>How many clients' shifts H averages (n, fewer while a networked run has lost clients).</summary>
    public int Members { get; private set; }
    public double Lambda { get; }

    /// <summary>xᵏ.</summary>
    public double[] Model { get; }

    /// <summary>Hᵏ = (1/n) Σ H_iᵏ, packed.</summary>
    public double[] Hessian { get; }

    /// <summary>The round's gradient mean (FedNL), or FedNL-PP's running g = (1/n) Σ g_i.</summary>
    public double[] Gradient { get; }

    /// <summary>The round's mean f_i, or NaN when the round did not evaluate it.</summary>
    public double Loss { get; private set; } = double.NaN;

    /// <summary>The round's l = (1/n) Σ l_i.</summary>
    public double DifferenceNorm { get; private set; }

    /// <summary>How often the last solve had to add to the diagonal to stay positive definite.</summary>
    public int LastSolveRegularisations { get; private set; }

    /// <summary>Stopwatch ticks spent aggregating (means, folding the S_i) and solving, over the whole run.</summary>
    public long AggregationTicks { get; private set; }
    public long SolveTicks { get; private set; }

    /// <summary>
    /// f = mean f_i, g = mean g_i, l = mean l_i over the updates of the clients that answered (in client order).
    /// With every client answering this is FedNL's aggregation; a lost client is left out of the means.
    /// </summary>
    public void Aggregate(ReadOnlySpan<ClientReply> updates, ReadOnlySpan<bool> answered)
    {
        long start = Stopwatch.GetTimestamp();
        Array.Clear(Gradient);
        double loss = 0, l = 0;
        int count = 0;
        for (int t = 0; t < updates.Length; t++)
        {
            if (!answered[t]) continue;
            var u = updates[t];
            count++;
            loss += u.Loss;
            l += u.DifferenceNorm;
            for (int i = 0; i < Dimension; i++) Gradient[i] += u.Gradient[i];
        }
        if (count == 0) throw new InvalidOperationException("no client answered this round");
        double inv = 1.0 / count;
        for (int i = 0; i < Dimension; i++) Gradient[i] *= inv;
        Loss = loss * inv;
        DifferenceNorm = l * inv;
        AggregationTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>H += (α/n) Σ S_i over the clients that answered, in the order given (client order).</summary>
    public void FoldDifferences(ReadOnlySpan<ClientReply> updates, ReadOnlySpan<bool> answered, double alpha)
    {
        long start = Stopwatch.GetTimestamp();
        FoldRange(updates, answered, alpha, 0, Hessian.Length);
        AggregationTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>
    /// The fold restricted to packed entries [from, to). Each entry still receives the clients' terms one by one in
    /// client order, so folding disjoint ranges on two threads gives the bits of one sequential fold.
    /// </summary>
    private void FoldRange(ReadOnlySpan<ClientReply> updates, ReadOnlySpan<bool> answered, double alpha, int from, int to)
    {
        double scale = alpha / Members;
        var h = Hessian.AsSpan();
        for (int t = 0; t < updates.Length; t++)
        {
            if (!answered[t]) continue;
            var s = updates[t].Difference!;
            var values = s.UsedValues;
            var indices = s.UsedIndices;
            if (indices.IsEmpty && s.Count > 0)
            {
                // all D values in packed order (a dense kind from the network)
                for (int e = from; e < to; e++) h[e] += scale * values[e];
                continue;
            }
            int lo = LowerBound(indices, from), hi = LowerBound(indices, to);
            for (int q = lo; q < hi; q++) h[indices[q]] += scale * values[q];
        }
    }

    private static int LowerBound(ReadOnlySpan<int> sorted, int value)
    {
        int at = sorted.BinarySearch(value);
        if (at < 0) return ~at;
        while (at > 0 && sorted[at - 1] == value) at--;
        return at;
    }

    /// <summary>FedNL-PP: l += (1/n) Σ Δl_i and g += (1/n) Σ Δg_i over the clients that answered (deltas).</summary>
    public void FoldPartialDeltas(ReadOnlySpan<ClientReply> updates, ReadOnlySpan<bool> answered)
    {
        long start = Stopwatch.GetTimestamp();
        double inv = 1.0 / Clients;
        for (int t = 0; t < updates.Length; t++)
        {
            if (!answered[t]) continue;
            var u = updates[t];
            DifferenceNorm += u.DifferenceNormDelta * inv;
            for (int i = 0; i < Dimension; i++) Gradient[i] += u.Gradient[i] * inv;
        }
        AggregationTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>From now on H is the mean shift of <paramref name="members"/> clients (the caller has written it into <see cref="Hessian"/>).</summary>
    public void AverageOver(int members)
    {
        if (members < 1 || members > Clients) throw new ArgumentOutOfRangeException(nameof(members), members, $"1..{Clients} clients");
        Members = members;
    }

    /// <summary>Puts the server back into a saved state (resuming from a checkpoint).</summary>
    public void Restore(ReadOnlySpan<double> model, ReadOnlySpan<double> hessian, ReadOnlySpan<double> gradient, double differenceNorm)
    {
        model.CopyTo(Model);
        hessian.CopyTo(Hessian);
        gradient.CopyTo(Gradient);
        DifferenceNorm = differenceNorm;
    }

    /// <summary>
    /// Solves (H + shift·I) s = rhs into <paramref name="solution"/> by Cholesky. If the matrix is not positive
    /// definite (a compressed H can lose definiteness), the shift grows — max(shift, 1e-12 · scale) × 10 per try —
    /// until it is; the number of tries is kept in <see cref="LastSolveRegularisations"/>.
    /// </summary>
    public void Solve(double shift, ReadOnlySpan<double> rhs, Span<double> solution) => Solve(Hessian, shift, rhs, solution);

    private void Solve(ReadOnlySpan<double> hessian, double shift, ReadOnlySpan<double> rhs, Span<double> solution)
    {
        long start = Stopwatch.GetTimestamp();
        LastSolveRegularisations = 0;
        double scale = Math.Max(Lambda, 1e-300);
        for (int i = 0; i < Dimension; i++) scale = Math.Max(scale, Math.Abs(hessian[PackedSymmetric.Index(Dimension, i, i)]));
        double current = shift;
        while (!_solver.TrySolve(hessian, current, rhs, solution, out _))
        {
            LastSolveRegularisations++;
            if (LastSolveRegularisations > 60)
                throw new FednlNativeException(FednlStatus.ErrNotPositiveDefinite,
                    "the server's Hessian estimate stayed indefinite after 60 diagonal shifts");
            current = Math.Max(current, 1e-12 * scale) * 10;
        }
        SolveTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>The Newton-type step: x ← x − (H + shift·I)⁻¹ g.</summary>
    public void NewtonStep(double shift)
    {
        Solve(shift, Gradient, _step);
        for (int i = 0; i < Dimension; i++) Model[i] -= _step[i];
    }

    /// <summary>
    /// Solves (Hᵏ + shift·I) s = g into <paramref name="solution"/> and, at the same time on a second core, folds the
    /// round's S_i into H (<see cref="FoldDifferences"/>): the solve works on a copy of Hᵏ, so the result is the same
    /// as solving first and folding after.
    /// </summary>
    public void SolveThenFold(double shift, Span<double> solution, ClientReply[] updates, ReadOnlySpan<bool> answered, double alpha)
    {
        long start = Stopwatch.GetTimestamp();
        Hessian.CopyTo(_snapshot, 0);
        answered.CopyTo(_foldAnswered);
        // the side thread folds [split, D); this one solves, then folds [0, split)
        int split = (int)(Hessian.Length * _mainFoldShare);
        (_foldUpdates, _foldAlpha, _foldFrom) = (updates, alpha, split);
        _side.Start(_foldPending);
        long solveTicks = 0, mainFoldTicks = 0;
        try
        {
            long solveStart = Stopwatch.GetTimestamp();
            Solve(_snapshot, shift, Gradient, solution);
            long foldStart = Stopwatch.GetTimestamp();
            FoldRange(updates, answered, alpha, 0, split);
            solveTicks = foldStart - solveStart;
            mainFoldTicks = Stopwatch.GetTimestamp() - foldStart;
        }
        finally
        {
            _side.Wait();
            _foldUpdates = null;
        }
        // Balance the next round: with fold work F and solve time S, folding a share (F − S) / 2F here finishes both
        // threads together. Only the timing moves; every entry's sum is the same whatever the split.
        double fold = _sideFoldTicks + mainFoldTicks;
        _mainFoldShare = fold > 0 ? Math.Clamp((fold - solveTicks) / (2 * fold), 0, 0.9) : 0;
        AggregationTicks += Stopwatch.GetTimestamp() - start - solveTicks;
    }

    /// <summary>FedNL's step under the paper's rule: x ← x − (Hᵏ + shift·I)⁻¹ g, then H ← Hᵏ⁺¹ (overlapped).</summary>
    public void NewtonStepThenFold(double shift, ClientReply[] updates, ReadOnlySpan<bool> answered, double alpha)
    {
        SolveThenFold(shift, _step, updates, answered, alpha);
        for (int i = 0; i < Dimension; i++) Model[i] -= _step[i];
    }

    /// <summary>FedNL-LS's direction −(Hᵏ + shift·I)⁻¹ g, then H ← Hᵏ⁺¹ (overlapped).</summary>
    public void DirectionThenFold(double shift, Span<double> direction, ClientReply[] updates, ReadOnlySpan<bool> answered, double alpha)
    {
        SolveThenFold(shift, direction, updates, answered, alpha);
        for (int i = 0; i < Dimension; i++) direction[i] = -direction[i];
    }

    /// <summary>FedNL-PP: x = (H + l I)⁻¹ g.</summary>
    public void SolveForModel() => Solve(DifferenceNorm, Gradient, Model);

    public void Dispose()
    {
        _side.Dispose();
        _solver.Dispose();
    }
}
