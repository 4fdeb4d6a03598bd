using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Fednl.Interop;

/// <summary>
/// OpenBLAS picks its kernels from the CPU model when it loads; the 0.3.21 that Debian ships does not know some
/// newer Xeons and falls back to its SSE3 "Prescott" kernels, which made the server's Cholesky 2–3× slower here.
/// On a CPU with AVX2 and FMA, unless OPENBLAS_CORETYPE is already set, this asks for the Haswell kernels (which run
/// on every AVX2 CPU) before the library loads. Set OPENBLAS_CORETYPE yourself to choose another.
/// </summary>
internal static partial class BlasCoreType
{
    public const string Variable = "OPENBLAS_CORETYPE";

    public static void Choose()
    {
        if (!OperatingSystem.IsLinux() || !Avx2.IsSupported || !Fma.IsSupported) return;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable))) return;
        // The native environment, not .NET's copy: OpenBLAS reads it with getenv when it initialises.
        setenv(Variable, "Haswell", 0);
        Environment.SetEnvironmentVariable(Variable, "Haswell");
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
