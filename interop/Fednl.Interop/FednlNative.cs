using System.Reflection;
using System.Runtime.InteropServices;

namespace Fednl.Interop;

/// <summary>
/// Finds and loads libfednl once per process and checks that it speaks the ABI these bindings were generated for.
/// Search order: an explicit path (<see cref="LibraryPath"/> or FEDNL_NATIVE_LIBRARY), then
/// runtimes/&lt;rid&gt;/native/ beside the application, then the platform's default probing.
/// </summary>
public static class FednlNative
{
    /// <summary>Environment variable naming the library file explicitly.</summary>
    public const string PathVariable = "FEDNL_NATIVE_LIBRARY";

    private static readonly Lock Gate = new();
    private static bool _resolverInstalled;
    private static bool _verified;
    private static nint _handle;
    private static List<string> _tried = [];

    /// <summary>Full path of the library to load; set before the first native call to override the search.</summary>
    public static string? LibraryPath { get; set; }

    /// <summary>The file name of the library on this OS.</summary>
    public static string FileName =>
        OperatingSystem.IsWindows() ? "fednl.dll" : OperatingSystem.IsMacOS() ? "libfednl.dylib" : "libfednl.so";

    /// <summary>
    /// Loads the library and checks its ABI version. Throws <see cref="FednlNativeLibraryException"/> with what to do
    /// when it is missing or does not match; every managed entry point calls this before its first native call.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (_verified) return;
        lock (Gate)
        {
            if (_verified) return;
            BlasCoreType.Choose();
            BlasThreads.OneBeforeLoad();
            InstallResolver();
            int version;
            try
            {
                version = NativeMethods.fednl_abi_version();
            }
            catch (DllNotFoundException e)
            {
                throw new FednlNativeLibraryException(MissingLibraryMessage(_tried, e.Message), e);
            }
            catch (EntryPointNotFoundException e)
            {
                throw new FednlNativeLibraryException(AbiMismatchMessage(-1, NativeConstants.AbiVersion, LoadedFrom), e);
            }
            if (version != NativeConstants.AbiVersion)
                throw new FednlNativeLibraryException(AbiMismatchMessage(version, NativeConstants.AbiVersion, LoadedFrom));
            // Surface a bad FEDNL_KERNEL setting now, as an error, rather than silently in the first kernel.
            NativeError.Check(NativeMethods.fednl_set_kernel_variant((int)FednlKernelVariant.Auto));
            _verified = true;
        }
    }

    /// <summary>Where the library was loaded from, when the resolver found it.</summary>
    public static string? LoadedFrom { get; private set; }

    private static void InstallResolver()
    {
        if (_resolverInstalled) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
        _resolverInstalled = true;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != NativeMethods.Library) return 0;
        if (_handle != 0) return _handle;
        var candidates = Candidates(LibraryPath, Environment.GetEnvironmentVariable(PathVariable), AppContext.BaseDirectory,
            RuntimeInformation.RuntimeIdentifier, FileName);
        _tried = [];
        foreach (var candidate in candidates)
        {
            _tried.Add(candidate);
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out _handle))
            {
                LoadedFrom = candidate;
                return _handle;
            }
        }
        _tried.Add($"default probing for '{name}'");
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out _handle))
        {
            LoadedFrom = name;
            return _handle;
        }
        return 0; // the runtime then throws DllNotFoundException, which EnsureLoaded turns into advice
    }

    /// <summary>
    /// The files to try, in order: the explicit path, the environment variable, then runtimes/&lt;rid&gt;/native/
    /// for the exact and the portable runtime identifier, then the application folder itself.
    /// </summary>
    public static IReadOnlyList<string> Candidates(string? explicitPath, string? environmentPath, string baseDirectory,
        string runtimeIdentifier, string fileName)
    {
        var list = new List<string>();
        if (!string.IsNullOrWhiteSpace(explicitPath)) list.Add(explicitPath);
        if (!string.IsNullOrWhiteSpace(environmentPath)) list.Add(environmentPath);
        foreach (var rid in new[] { runtimeIdentifier, PortableRid(runtimeIdentifier) }.Distinct())
            list.Add(Path.Combine(baseDirectory, "runtimes", rid, "native", fileName));
        list.Add(Path.Combine(baseDirectory, fileName));
        return list;
    }

    /// <summary>debian.12-x64 → linux-x64; win10-x64 → win-x64; osx.14-arm64 → osx-arm64.</summary>
    public static string PortableRid(string rid)
    {
        int dash = rid.LastIndexOf('-');
        string arch = dash < 0 ? rid : rid[(dash + 1)..];
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        return $"{os}-{arch}";
    }

    public static string MissingLibraryMessage(IReadOnlyList<string> tried, string detail) =>
        $"the native FedNL kernel ({FileName}) could not be loaded. Tried: {string.Join("; ", tried)}. " +
        $"Run ./build.sh (or build.ps1 on Windows) to build it, or set {PathVariable} to the full path of {FileName}. " +
        $"(loader said: {detail.Split('\n')[0].Trim()})";

    public static string AbiMismatchMessage(int found, int expected, string? from) =>
        $"the native FedNL kernel{(from is null ? "" : $" at {from}")} has ABI version {(found < 0 ? "unknown (too old)" : found.ToString())}, " +
        $"but these bindings were generated for version {expected}: rebuild native and managed together (./build.sh).";
}
