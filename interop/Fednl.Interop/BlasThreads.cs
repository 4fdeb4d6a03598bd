using System.Runtime.InteropServices;

namespace Fednl.Interop;

/// <summary>
/// The kernel calls OpenBLAS from one thread at a time and sets it to one thread (fednl_blas_init), but OpenBLAS
/// starts its worker pool (one thread per further core) as soon as it loads, before that call, and the pool then
/// sleeps for the whole run. Unless OPENBLAS_NUM_THREADS is already set, this sets it to 1 before the library
/// loads, so the pool is never started: one idle thread fewer in every process that trains (about 70 KB resident).
/// </summary>
internal static partial class BlasThreads
{
    public const string Variable = "OPENBLAS_NUM_THREADS";

    public static void OneBeforeLoad()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable))) return;
        // The native environment only, which OpenBLAS reads with getenv when it initialises; .NET's copy, which
        // processes started from here inherit (the bench's Python baseline among them), is left as it was.
        setenv(Variable, "1", 0);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
