using Fednl.Interop;
using Fednl.Kernels;

namespace Fednl.Tests.Interop;

/// <summary>How libfednl is found, what users are told when it is not, and what it reports about itself.</summary>
public sealed class NativeLibraryTests
{
    [Test]
    public void Candidates_put_the_explicit_path_first_then_runtimes_then_the_app_folder()
    {
        var list = FednlNative.Candidates("/opt/x/libfednl.so", "/env/libfednl.so", "/app", "debian.12-x64", "libfednl.so");
        Assert.That(list[0], Is.EqualTo("/opt/x/libfednl.so"));
        Assert.That(list[1], Is.EqualTo("/env/libfednl.so"));
        Assert.That(list[2], Is.EqualTo(Path.Combine("/app", "runtimes", "debian.12-x64", "native", "libfednl.so")));
        Assert.That(list, Does.Contain(Path.Combine("/app", "runtimes", "linux-x64", "native", "libfednl.so")));
        Assert.That(list[^1], Is.EqualTo(Path.Combine("/app", "libfednl.so")));
        Assert.That(FednlNative.Candidates(null, "", "/app", "linux-x64", "libfednl.so")[0],
            Is.EqualTo(Path.Combine("/app", "runtimes", "linux-x64", "native", "libfednl.so")));
    }

    [Test]
    public void A_missing_library_tells_the_user_what_to_do()
    {
        string message = FednlNative.MissingLibraryMessage(["/a/libfednl.so", "/b/libfednl.so"], "cannot open");
        Assert.That(message, Does.Contain("/a/libfednl.so"));
        Assert.That(message, Does.Contain("./build.sh"));
        Assert.That(message, Does.Contain(FednlNative.PathVariable));
    }

    [Test]
    public void An_abi_mismatch_names_both_versions()
    {
        string message = FednlNative.AbiMismatchMessage(1, 7, "/x/libfednl.so");
        Assert.That(message, Does.Contain("version 1"));
        Assert.That(message, Does.Contain("version 7"));
        Assert.That(message, Does.Contain("rebuild native and managed together"));
    }

    [Test]
    public void The_loaded_library_matches_the_bindings_and_runs_blas_single_threaded()
    {
        FednlNative.EnsureLoaded();
        Assert.That(FednlNative.LoadedFrom, Does.Contain(Path.Combine("runtimes", "linux-x64", "native")));
        var info = KernelSettings.BuildInfo;
        Assert.That(info.AbiVersion, Is.EqualTo(NativeConstants.AbiVersion));
        Assert.That(info.BlasThreads, Is.EqualTo(1));
    }

    [Test]
    public void A_process_without_the_library_gets_the_advice_not_a_DllNotFoundException()
    {
        // A child process whose resolver can only find a path that does not exist.
        string cli = Path.Combine(AppContext.BaseDirectory, "Fednl.Cli.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [cli, "train", "--rounds", "1"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var temp = TestData.TempFolder();
        string copy = Path.Combine(temp.Path, "app");
        CopyDirectory(AppContext.BaseDirectory, copy, skipNative: true);
        start.ArgumentList[0] = Path.Combine(copy, "Fednl.Cli.dll");
        start.Environment[FednlNative.PathVariable] = "/nonexistent/libfednl.so";
        using var process = System.Diagnostics.Process.Start(start)!;
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(1), stderr);
        Assert.That(stderr, Does.Contain("could not be loaded"));
        Assert.That(stderr, Does.Contain("./build.sh"));
        Assert.That(stderr, Does.Not.Contain("DllNotFoundException"));
        Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1), "one line, no stack trace");
    }

    private static void CopyDirectory(string from, string to, bool skipNative)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
            if (!(skipNative && Path.GetFileName(file) == FednlNative.FileName))
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from))
        {
            if (skipNative && Path.GetFileName(dir) == "runtimes") continue;
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)), skipNative);
        }
    }
}
