using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>Which implementation of the vector kernels runs.</summary>
public enum KernelVariant
{
    /// <summary>AVX-512 when the CPU has it, else AVX2 when it has that, unless FEDNL_KERNEL says otherwise.</summary>
    Auto = 0,
    /// <summary>Plain scalar C.</summary>
    Reference = 1,
    /// <summary>AVX2 + FMA.</summary>
    Avx2 = 2,
    /// <summary>AVX-512 (F, DQ, BW, VL) where it pays, AVX2 elsewhere; the same bits as AVX2.</summary>
    Avx512 = 3,
}

/// <summary>Process-wide kernel configuration and what the loaded native library reports about itself.</summary>
public static class KernelSettings
{
    /// <summary>The variant in use now (never <see cref="KernelVariant.Auto"/>).</summary>
    public static KernelVariant Active => (KernelVariant)BuildInfo.ActiveVariant;

    /// <summary>True when this CPU and build can run the AVX2 kernels.</summary>
    public static bool Avx2Available => BuildInfo.Avx2Available != 0;

    /// <summary>True when this CPU and build can run the AVX-512 kernels.</summary>
    public static bool Avx512Available => BuildInfo.Avx512Available != 0;

    /// <summary>True when this CPU and build can run <paramref name="variant"/>.</summary>
    public static bool IsAvailable(KernelVariant variant) => variant switch
    {
        KernelVariant.Avx2 => Avx2Available,
        KernelVariant.Avx512 => Avx512Available,
        _ => true,
    };

    /// <summary>Selects the variant for every later kernel call in this process.</summary>
    public static void Use(KernelVariant variant)
    {
        FednlNative.EnsureLoaded();
        NativeError.Check(NativeMethods.fednl_set_kernel_variant((int)variant));
    }

    /// <summary>The native library's own description of itself.</summary>
    public static FednlBuildInfo BuildInfo
    {
        get
        {
            FednlNative.EnsureLoaded();
            var info = new FednlBuildInfo();
            NativeError.Check(NativeMethods.fednl_get_build_info(ref info));
            return info;
        }
    }
}
