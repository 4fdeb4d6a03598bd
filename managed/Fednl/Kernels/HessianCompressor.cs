using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance.Buffers;
using Fednl.Compression;
using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>
/// The native compressors and FedNL's client-side shift step, with a workspace sized once. One instance per
/// thread: the workspace is scratch.
/// </summary>
public sealed class HessianCompressor : IDisposable
{
    private readonly MemoryOwner<ulong> _workspace;

    /// <param name="spec">The compressor.</param>
    /// <param name="maxPatternLength">The longest Hessian pattern <see cref="PatternStep"/> will see (default: D).</param>
    public HessianCompressor(CompressorSpec spec, long maxPatternLength = 0)
    {
        FednlNative.EnsureLoaded();
        Spec = spec;
        var settings = SettingsOf(spec, 0);
        long pattern = maxPatternLength > 0 ? Math.Min(maxPatternLength, spec.PackedLength) : spec.PackedLength;
        long words = NativeMethods.fednl_compress_workspace(in settings, spec.Dimension);
        long stepWords = NativeMethods.fednl_pattern_step_workspace(in settings, spec.Dimension, pattern);
        if (words < 0 || stepWords < 0) NativeError.Check((int)FednlStatus.ErrInvalidArgument);
        _workspace = MemoryOwner<ulong>.Allocate(checked((int)Math.Max(words, stepWords)));
    }

    public CompressorSpec Spec { get; }

    /// <summary>S = C(m) with the random stream of <paramref name="seed"/>.</summary>
    /// <param name="m">The packed matrix (D entries).</param>
    /// <param name="seed">The call's seed (permk: the round's seed every client shares).</param>
    /// <param name="output">Receives S.</param>
    /// <param name="client">PermK only, and required there: the client whose block is kept.</param>
    public void Compress(ReadOnlySpan<double> m, ulong seed, CompressedMatrix output, int? client = null)
    {
        PackedSymmetric.CheckLength(Spec.Dimension, m.Length, nameof(m));
        var settings = Settings(seed, client);
        long count = 0;
        var work = _workspace.Span;
        Span<int> indices = output.Indices;
        Span<double> values = output.Values;
        NativeError.Check(NativeMethods.fednl_compress(in settings, Spec.Dimension, in NativeSpan.Ref(m),
            ref NativeSpan.Ref(indices), indices.Length, ref NativeSpan.Ref(values), values.Length, ref count,
            ref NativeSpan.Ref(work), work.Length));
        output.Count = checked((int)count);
    }

    /// <summary>
    /// FedNL's client step over a client's Hessian pattern: <paramref name="difference"/> holds the Hessian over the
    /// pattern and is overwritten with M = Hessian − shift; S = C(M) goes to <paramref name="output"/> (for identical
    /// and natural its support is the plan's pattern) and shift += α S. Returns ‖M‖_F; with
    /// <paramref name="remaining"/> also ‖M − αS‖_F (FedNL-PP's new l_i), and difference then holds M − αS.
    /// </summary>
    /// <param name="plan">The client's Hessian plan.</param>
    /// <param name="difference">In: the Hessian over the pattern; out: M (or M − αS with <paramref name="remaining"/>).</param>
    /// <param name="shift">H_i over the pattern, moved by αS.</param>
    /// <param name="alpha">The Hessian learning rate α.</param>
    /// <param name="seed">The compressor's seed (permk: the round's seed every client shares).</param>
    /// <param name="output">Receives S.</param>
    /// <param name="remaining">Also compute ‖M − αS‖_F.</param>
    /// <param name="remainingNorm">‖M − αS‖_F when <paramref name="remaining"/>, else 0.</param>
    /// <param name="client">PermK only, and required there: the client whose block is kept.</param>
    public double PatternStep(HessianPlan plan, Span<double> difference, Span<double> shift, double alpha, ulong seed,
        CompressedMatrix output, bool remaining, out double remainingNorm, int? client = null)
    {
        if (plan.Dimension != Spec.Dimension)
            throw new ArgumentException($"the plan is for d = {plan.Dimension}, the compressor for d = {Spec.Dimension}", nameof(plan));
        if (difference.Length < plan.PatternLength || shift.Length < plan.PatternLength)
            throw new ArgumentException($"the pattern has {plan.PatternLength} entries; difference has {difference.Length}, shift {shift.Length}");
        var settings = Settings(seed, client);
        long count = 0;
        double norm = 0;
        remainingNorm = 0;
        var work = _workspace.Span;
        Span<int> indices = output.Indices;
        Span<double> values = output.Values;
        NativeError.Check(NativeMethods.fednl_pattern_shift_step(in settings, in plan.Words[0], plan.Words.Length,
            ref NativeSpan.Ref(difference), difference.Length, ref NativeSpan.Ref(shift), shift.Length, alpha, ref norm,
            ref remaining ? ref remainingNorm : ref Unsafe.NullRef<double>(),
            ref NativeSpan.Ref(indices), indices.Length, ref NativeSpan.Ref(values), values.Length, ref count,
            ref NativeSpan.Ref(work), work.Length));
        output.Count = checked((int)count);
        output.Support = Spec.IsDense && !plan.IsDense ? plan.Pattern : null;
        return norm;
    }

    /// <summary>
    /// <see cref="PatternStep"/> for a dense client that takes the fused step (<see cref="Fednl.Clients.FedNLClient.FitsFusedStep"/>),
    /// fused with forming its Hessian (fednl_dense_shift_step): the Hessian Σ_j w_j a_j a_jᵀ + λI is summed in a fixed
    /// order, panel by panel of four packed rows (or strip by strip past the panels' bounds), and goes from registers
    /// or an L1 buffer straight into M = Hessian − shift, ‖M‖_F, S = C(M) and shift += α S, so for identical and natural
    /// the Hessian and M never reach memory. The pattern is every packed entry; <paramref name="difference"/> (D entries)
    /// is scratch for the other kinds, left holding M as <see cref="PatternStep"/> leaves it.
    /// </summary>
    /// <param name="rowMajor">The client's rows (rows × d, row-major).</param>
    /// <param name="rows">Rows of <paramref name="rowMajor"/>.</param>
    /// <param name="weights">The Hessian's row weights s_j(1 − s_j)/m at the model (from the dense oracle).</param>
    /// <param name="lambda">λ, added on the diagonal.</param>
    /// <param name="difference">Scratch of D entries (not used by identical and natural).</param>
    /// <param name="shift">H_i (D entries), moved by αS.</param>
    /// <param name="alpha">The Hessian learning rate α.</param>
    /// <param name="seed">The compressor's seed (permk: the round's seed every client shares).</param>
    /// <param name="output">Receives S.</param>
    /// <param name="remaining">Also compute ‖M − αS‖_F.</param>
    /// <param name="remainingNorm">‖M − αS‖_F when <paramref name="remaining"/>, else 0.</param>
    /// <param name="client">PermK only, and required there: the client whose block is kept.</param>
    public double DenseStep(ReadOnlySpan<double> rowMajor, int rows, ReadOnlySpan<double> weights, double lambda,
        Span<double> difference, Span<double> shift, double alpha, ulong seed, CompressedMatrix output, bool remaining,
        out double remainingNorm, int? client = null)
    {
        long packed = Spec.PackedLength;
        if (rowMajor.Length < (long)rows * Spec.Dimension || weights.Length < rows)
            throw new ArgumentException($"{rows} rows of {Spec.Dimension} need {(long)rows * Spec.Dimension} values and {rows} weights, got {rowMajor.Length} and {weights.Length}");
        if (shift.Length < packed || (!Spec.IsDense && difference.Length < packed))
            throw new ArgumentException($"the shift (and for {Spec.Kind} the difference) need {packed} entries, got {shift.Length} and {difference.Length}");
        var settings = Settings(seed, client);
        long count = 0;
        double norm = 0;
        remainingNorm = 0;
        var work = _workspace.Span;
        // The dense kinds' support is every entry: no index list is written.
        Span<int> indices = Spec.IsDense ? default : output.Indices;
        Span<double> values = output.Values;
        NativeError.Check(NativeMethods.fednl_dense_shift_step(in settings, rows, Spec.Dimension, in NativeSpan.Ref(rowMajor),
            in NativeSpan.Ref(weights), lambda, ref NativeSpan.Ref(shift), shift.Length, alpha, ref norm,
            ref remaining ? ref remainingNorm : ref Unsafe.NullRef<double>(), ref NativeSpan.Ref(difference), difference.Length,
            ref NativeSpan.Ref(indices), indices.Length, ref NativeSpan.Ref(values), values.Length, ref count,
            ref NativeSpan.Ref(work), work.Length));
        output.Count = checked((int)count);
        output.Support = null;
        return norm;
    }

    /// <summary>
    /// The indices randk, randseqk or permk picks for <paramref name="seed"/>: what a receiver regenerates instead of
    /// receiving. Returns the count; <paramref name="start"/> is randseqk's window start (−1 for randk and permk).
    /// </summary>
    /// <param name="seed">The sender's compressor seed.</param>
    /// <param name="indices">Receives the indices (at least <see cref="CompressorSpec.K"/> entries).</param>
    /// <param name="start">randseqk's window start, −1 otherwise.</param>
    /// <param name="client">PermK only, and required there: the sender, whose block is regenerated.</param>
    public int RegenerateIndices(ulong seed, Span<int> indices, out long start, int? client = null)
    {
        var settings = Settings(seed, client);
        long count = 0;
        start = 0;
        var work = _workspace.Span;
        NativeError.Check(NativeMethods.fednl_compress_indices(in settings, Spec.Dimension, ref NativeSpan.Ref(indices),
            indices.Length, ref count, ref start, ref NativeSpan.Ref(work), work.Length));
        return checked((int)count);
    }

    /// <summary>packed += scale · S.</summary>
    public static void AddScaled(int dimension, Span<double> packed, double scale, CompressedMatrix s)
    {
        PackedSymmetric.CheckLength(dimension, packed.Length, nameof(packed));
        if (s.Count == 0) return; // e.g. TopLEK sent nothing: an empty index list must not read as a dense update
        FednlNative.EnsureLoaded();
        NativeError.Check(NativeMethods.fednl_packed_add_compressed(dimension, ref NativeSpan.Ref(packed), scale,
            in NativeSpan.Ref(s.UsedIndices), in NativeSpan.Ref(s.UsedValues), s.Count));
    }

    /// <summary>Words of workspace an instance for <paramref name="spec"/> and patterns up to <paramref name="maxPatternLength"/> holds.</summary>
    public static long WorkspaceLength(CompressorSpec spec, long maxPatternLength)
    {
        FednlNative.EnsureLoaded();
        var settings = SettingsOf(spec, 0);
        long pattern = maxPatternLength > 0 ? Math.Min(maxPatternLength, spec.PackedLength) : spec.PackedLength;
        return Math.Max(NativeMethods.fednl_compress_workspace(in settings, spec.Dimension),
            NativeMethods.fednl_pattern_step_workspace(in settings, spec.Dimension, pattern));
    }

    private FednlCompressor Settings(ulong seed, int? client)
    {
        if (Spec.Kind == CompressorKind.PermK && client is null)
            throw new ArgumentNullException(nameof(client), "permk keeps one client's block: the call needs the client id");
        return SettingsOf(Spec, seed, client ?? 0);
    }

    private static FednlCompressor SettingsOf(CompressorSpec spec, ulong seed, int client = 0) => new()
    {
        Kind = (int)spec.Kind,
        Client = client,
        K = spec.IsDense || spec.Kind == CompressorKind.PermK ? 0 : spec.K,
        Seed = seed,
        Clients = spec.Clients,
    };

    public void Dispose() => _workspace.Dispose();
}
