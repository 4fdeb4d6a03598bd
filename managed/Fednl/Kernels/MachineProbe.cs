using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>
/// The kernel's machine probes (fednl.h, fednl_probe_*): one native loop on the calling thread over the caller's
/// buffers, returning the work it did, so that the caller can time it (and run one per thread for all cores).
/// Each also returns a sink that depends on every element. Bad arguments become exceptions, as for every kernel.
/// </summary>
public static class MachineProbe
{
    /// <summary>passes sweeps summing <paramref name="source"/>; returns the bytes read (8 per element and pass).</summary>
    public static long StreamRead(ReadOnlySpan<double> source, long passes, out double sink)
    {
        FednlNative.EnsureLoaded();
        sink = 0;
        long bytes = 0;
        NativeError.Check(NativeMethods.fednl_probe_stream((int)FednlProbeStreamKind.Read, in NativeSpan.Ref(source),
            ref System.Runtime.CompilerServices.Unsafe.NullRef<double>(), source.Length, passes, ref sink, ref bytes));
        return bytes;
    }

    /// <summary>
    /// passes sweeps of target += s·source (equal lengths); returns the bytes read and written (24 per element and pass).
    /// </summary>
    public static long StreamTriad(ReadOnlySpan<double> source, Span<double> target, long passes, out double sink)
    {
        if (target.Length != source.Length)
            throw new ArgumentException($"source has {source.Length} entries, target {target.Length}", nameof(target));
        FednlNative.EnsureLoaded();
        sink = 0;
        long bytes = 0;
        NativeError.Check(NativeMethods.fednl_probe_stream((int)FednlProbeStreamKind.Triad, in NativeSpan.Ref(source),
            ref NativeSpan.Ref(target), source.Length, passes, ref sink, ref bytes));
        return bytes;
    }

    /// <summary>
    /// iterations rounds of 12 independent FMA chains of 4 lanes (8 with AVX-512); returns the FMAs (48 or 96 per
    /// iteration).
    /// </summary>
    public static long Fma(long iterations, out double sink)
    {
        FednlNative.EnsureLoaded();
        sink = 0;
        long fmas = 0;
        NativeError.Check(NativeMethods.fednl_probe_fma(iterations, ref sink, ref fmas));
        return fmas;
    }

    /// <summary>passes sweeps summing table[indices[k]] (vgatherdpd, 4 or 8 lanes); returns the gathers.</summary>
    public static long Gather(ReadOnlySpan<int> indices, ReadOnlySpan<double> table, long passes, out double sink)
    {
        FednlNative.EnsureLoaded();
        sink = 0;
        long gathers = 0;
        NativeError.Check(NativeMethods.fednl_probe_gather(in NativeSpan.Ref(indices), indices.Length, in NativeSpan.Ref(table),
            table.Length, passes, ref sink, ref gathers));
        return gathers;
    }

    /// <summary>passes sweeps of the logistic oracle's exp/log step over the margins z; returns the exps.</summary>
    public static long Exp(ReadOnlySpan<double> z, long passes, out double sink)
    {
        FednlNative.EnsureLoaded();
        sink = 0;
        long exps = 0;
        NativeError.Check(NativeMethods.fednl_probe_exp(in NativeSpan.Ref(z), z.Length, passes, ref sink, ref exps));
        return exps;
    }
}
