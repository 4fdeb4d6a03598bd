using Fednl.Kernels;

namespace Fednl.Benchmarks;

/// <summary>The kernel variants a benchmark can compare on this machine.</summary>
public static class KernelVariants
{
    /// <summary>AVX2 and AVX-512 where this CPU and build run them, after the reference when asked for.</summary>
    public static IEnumerable<KernelVariant> Available(bool reference)
    {
        if (reference) yield return KernelVariant.Reference;
        foreach (var variant in new[] { KernelVariant.Avx2, KernelVariant.Avx512 })
            if (KernelSettings.IsAvailable(variant))
                yield return variant;
    }
}
