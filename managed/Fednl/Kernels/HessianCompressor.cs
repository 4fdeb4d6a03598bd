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

    public HessianCompressor(CompressorSpec spec)
    {
        FednlNative.EnsureLoaded();
        Spec = spec;
        var settings = Settings(0);
        long words = NativeMethods.fednl_compress_workspace(in settings, spec.Dimension);
        if (words < 0) NativeError.Check((int)FednlStatus.ErrInvalidArgument);
        _workspace = MemoryOwner<ulong>.Allocate(checked((int)words));
    }

    public CompressorSpec Spec { get; }

    /// <summary>S = C(m) with the random stream of <paramref name="seed"/>.</summary>
    public void Compress(ReadOnlySpan<double> m, ulong seed, CompressedMatrix output)
    {
        PackedSymmetric.CheckLength(Spec.Dimension, m.Length, nameof(m));
        var settings = Settings(seed);
        long count = 0;
        var work = _workspace.Span;
        NativeError.Check(NativeMethods.fednl_compress(in settings, Spec.Dimension, in NativeSpan.Ref(m),
            ref NativeSpan.Ref(output.Indices.AsSpan()), ref NativeSpan.Ref(output.Values.AsSpan()), ref count,
            ref NativeSpan.Ref(work), work.Length));
        output.Count = checked((int)count);
    }

    /// <summary>
    /// FedNL's client step on the Hessian difference: M = hessian − shift (hessian is overwritten with M),
    /// S = C(M) into <paramref name="output"/>, shift += α S. Returns ‖M‖_F.
    /// </summary>
    public double ShiftStep(Span<double> hessian, Span<double> shift, double alpha, ulong seed, CompressedMatrix output)
    {
        PackedSymmetric.CheckLength(Spec.Dimension, hessian.Length, nameof(hessian));
        PackedSymmetric.CheckLength(Spec.Dimension, shift.Length, nameof(shift));
        var settings = Settings(seed);
        long count = 0;
        double norm = 0;
        var work = _workspace.Span;
        NativeError.Check(NativeMethods.fednl_shift_step(in settings, Spec.Dimension, ref NativeSpan.Ref(hessian),
            ref NativeSpan.Ref(shift), alpha, ref norm, ref NativeSpan.Ref(output.Indices.AsSpan()),
            ref NativeSpan.Ref(output.Values.AsSpan()), ref count, ref NativeSpan.Ref(work), work.Length));
        output.Count = checked((int)count);
        return norm;
    }

    /// <summary>
    /// The same step when M = ∇²f − shift is already formed: S = C(M), shift += α S. Returns ‖M‖_F.
    /// </summary>
    public double DifferenceStep(ReadOnlySpan<double> difference, Span<double> shift, double alpha, ulong seed, CompressedMatrix output)
    {
        PackedSymmetric.CheckLength(Spec.Dimension, difference.Length, nameof(difference));
        PackedSymmetric.CheckLength(Spec.Dimension, shift.Length, nameof(shift));
        var settings = Settings(seed);
        long count = 0;
        double norm = 0;
        var work = _workspace.Span;
        NativeError.Check(NativeMethods.fednl_difference_step(in settings, Spec.Dimension, in NativeSpan.Ref(difference),
            ref NativeSpan.Ref(shift), alpha, ref norm, ref NativeSpan.Ref(output.Indices.AsSpan()),
            ref NativeSpan.Ref(output.Values.AsSpan()), ref count, ref NativeSpan.Ref(work), work.Length));
        output.Count = checked((int)count);
        return norm;
    }

    /// <summary>
    /// The indices randk or randseqk picks for <paramref name="seed"/>: what a receiver regenerates instead of
    /// receiving. Returns the count; <paramref name="start"/> is randseqk's window start (−1 for randk).
    /// </summary>
    public int RegenerateIndices(ulong seed, Span<int> indices, out long start)
    {
        var settings = Settings(seed);
        long count = 0;
        start = 0;
        var work = _workspace.Span;
        NativeError.Check(NativeMethods.fednl_compress_indices(in settings, Spec.Dimension, ref NativeSpan.Ref(indices),
            ref count, ref start, ref NativeSpan.Ref(work), work.Length));
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

    /// <summary>y = (packed + shift·I) x.</summary>
    public static void Multiply(int dimension, ReadOnlySpan<double> packed, double shift, ReadOnlySpan<double> x, Span<double> y)
    {
        PackedSymmetric.CheckLength(dimension, packed.Length, nameof(packed));
        if (x.Length != dimension || y.Length != dimension)
            throw new ArgumentException($"x and y need {dimension} entries, got {x.Length} and {y.Length}");
        FednlNative.EnsureLoaded();
        NativeError.Check(NativeMethods.fednl_packed_multiply(dimension, in NativeSpan.Ref(packed), shift,
            in NativeSpan.Ref(x), ref NativeSpan.Ref(y)));
    }

    private FednlCompressor Settings(ulong seed) => new()
    {
        Kind = (int)Spec.Kind,
        Reserved = 0,
        K = Spec.IsDense ? 0 : Spec.K,
        Seed = seed,
    };

    public void Dispose() => _workspace.Dispose();
}
