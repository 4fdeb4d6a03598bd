using System.Diagnostics;

namespace Fednl.Tests.Build;

/// <summary>build.sh and build.ps1: argument handling and the test summary they compute from a results file.</summary>
public sealed class BuildScriptTests
{
    // Two passed, one failed, two not executed; the <Counters> element says notExecuted="0", as vstest writes it.
    private const string Trx = """
        <?xml version="1.0" encoding="utf-8"?>
        <TestRun id="1" name="t" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
          <Results>
            <UnitTestResult executionId="a" testId="1" testName="One" outcome="Passed" />
            <UnitTestResult executionId="b" testId="2" testName="Two(&quot;w8a&quot;)" outcome="Passed">
              <Output><StdOut>fine</StdOut></Output>
            </UnitTestResult>
            <UnitTestResult executionId="c" testId="3" testName="Three" outcome="Failed">
              <Output><ErrorInfo><Message>expected 1</Message></ErrorInfo></Output>
            </UnitTestResult>
            <UnitTestResult executionId="d" testId="4" testName="Four(&quot;a9a&quot;)" outcome="NotExecuted">
              <Output>
                <ErrorInfo>
                  <Message>FEDNL_DATA is not set: real-data test on a9a did not run</Message>
                </ErrorInfo>
              </Output>
            </UnitTestResult>
            <UnitTestResult executionId="e" testId="5" testName="Five" outcome="NotExecuted">
              <Output><ErrorInfo><Message>not on this machine</Message></ErrorInfo></Output>
            </UnitTestResult>
          </Results>
          <ResultSummary outcome="Failed">
            <Counters total="5" executed="3" passed="2" failed="1" error="0" timeout="0" aborted="0" inconclusive="0" notExecuted="0" />
          </ResultSummary>
        </TestRun>
        """;

    private static string[] Expected =>
    [
        "2 1 2",
        "  - Four(\"a9a\"): FEDNL_DATA is not set: real-data test on a9a did not run",
        "  - Five: not on this machine",
    ];

    [Platform(Include = "Linux", Reason = "build.sh and the fednl launcher are bash scripts")]
    [Test]
    public void Build_sh_counts_not_executed_results_and_says_why()
    {
        using var temp = TestData.TempFolder();
        string trx = temp.File("r.trx", Trx);
        var (exit, output, error) = Script.Bash("build.sh", "summarize-trx", trx);
        Assert.That(exit, Is.Zero, error);
        Assert.That(Lines(output), Is.EqualTo(Expected));
    }

    [Test]
    public void Build_ps1_counts_not_executed_results_and_says_why()
    {
        using var temp = TestData.TempFolder();
        string trx = temp.File("r.trx", Trx);
        var (exit, output, error) = Script.Pwsh("build.ps1", "summarize-trx", trx);
        Assert.That(exit, Is.Zero, error);
        Assert.That(Lines(output), Is.EqualTo(Expected));
    }

    [Platform(Include = "Linux", Reason = "build.sh and the fednl launcher are bash scripts")]
    [TestCase("--help", 0)]
    [TestCase("-h", 0)]
    [TestCase("tset", 2)]
    [TestCase("--relase", 2)]
    public void Build_sh_prints_usage_instead_of_building(string word, int expectedExit)
    {
        var (exit, output, error) = Script.Bash("build.sh", word);
        Assert.That(exit, Is.EqualTo(expectedExit), error);
        Assert.That(expectedExit == 0 ? output : error, Does.StartWith(expectedExit == 0 ? "usage: ./build.sh" : $"error: unknown argument '{word}'"));
        Assert.That(output + error, Does.Contain("usage: ./build.sh").And.Not.Contain("==> native kernel"));
    }

    [Platform(Include = "Linux", Reason = "build.sh and the fednl launcher are bash scripts")]
    [Test]
    public void Build_sh_refuses_a_data_folder_that_does_not_exist_naming_where_it_looked()
    {
        using var temp = TestData.TempFolder();
        var (exit, _, error) = Script.Bash("build.sh", ["--no-install"], temp.Path, ("FEDNL_DATA", "no-such-folder"));
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("FEDNL_DATA=no-such-folder is not a folder (seen from " + temp.Path + ")"));
    }

    [Test]
    public void A_relative_data_folder_is_taken_from_the_directory_the_command_ran_in()
    {
        Assert.That(TestData.DataFolder("../shared/datasets", "/work/clone"), Is.EqualTo("/work/shared/datasets"));
        Assert.That(TestData.DataFolder("/abs/data", "/work/clone"), Is.EqualTo("/abs/data"));
        Assert.That(TestData.DataFolder("", "/work/clone"), Is.Null);
        Assert.That(TestData.DataFolder("data", null), Is.EqualTo(Path.GetFullPath("data")));
    }

    [Platform(Include = "Linux", Reason = "build.sh and the fednl launcher are bash scripts")]
    [Test]
    public void An_offline_machine_without_the_nuget_packages_gets_one_sentence_about_the_cache()
    {
        using var copy = TestData.TempFolder();
        CopyTrackedFiles(copy.Path);
        using var emptyCache = TestData.TempFolder();
        var (exit, output, error) = Script.Run("bash", [Path.Combine(copy.Path, "build.sh"), "--no-install"], copy.Path,
        [
            ("NUGET_PACKAGES", emptyCache.Path), ("HTTP_PROXY", "http://127.0.0.1:9"), ("HTTPS_PROXY", "http://127.0.0.1:9"),
            ("http_proxy", "http://127.0.0.1:9"), ("https_proxy", "http://127.0.0.1:9"), ("NO_PROXY", ""), ("no_proxy", ""),
            ("NUGET_ENHANCED_MAX_NETWORK_TRY_COUNT", "1"), ("NUGET_ENHANCED_NETWORK_RETRY_DELAY_MILLISECONDS", "0"),
        ]);
        Assert.That(exit, Is.EqualTo(1), output + error);
        Assert.That(error, Does.Contain($"error: the NuGet packages this build needs are not in the NuGet cache ({emptyCache.Path})"));
        Assert.That(error, Does.Not.Contain("NU1301"));
        Assert.That(error, Does.Not.Contain("==> native kernel"), "packages are checked before anything is built");
    }

    [Platform(Include = "Linux", Reason = "build.sh and the fednl launcher are bash scripts")]
    [Test]
    public void The_launcher_works_from_a_moved_checkout_and_through_a_symlink()
    {
        string launcher = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "fednl"));
        Assert.That(launcher, Does.Not.Contain(TestData.RepositoryRoot), "no absolute path of this checkout");
        using var moved = TestData.TempFolder();
        File.Copy(Path.Combine(TestData.RepositoryRoot, "fednl"), Path.Combine(moved.Path, "fednl"));
        File.CreateSymbolicLink(Path.Combine(moved.Path, "managed"), Path.Combine(TestData.RepositoryRoot, "managed"));
        using var elsewhere = TestData.TempFolder();
        File.CreateSymbolicLink(Path.Combine(elsewhere.Path, "fednl"), Path.Combine(moved.Path, "fednl"));
        foreach (string entry in new[] { Path.Combine(moved.Path, "fednl"), Path.Combine(elsewhere.Path, "fednl") })
        {
            var (exit, output, error) = Script.Run("bash", [entry, "train", "--rounds", "2", "--json"], elsewhere.Path, []);
            Assert.That(exit, Is.Zero, error);
            Assert.That(output, Does.Contain("\"rounds\":2"));
        }
    }

    /// <summary>The repository's tracked files (no build output) copied under <paramref name="target"/>.</summary>
    private static void CopyTrackedFiles(string target)
    {
        var (exit, output, error) = Script.Run("git", ["ls-files", "-z"], TestData.RepositoryRoot, []);
        Assert.That(exit, Is.Zero, "git ls-files: " + error);
        foreach (string file in output.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            string from = Path.Combine(TestData.RepositoryRoot, file), to = Path.Combine(target, file);
            if (!File.Exists(from)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to);
        }
    }

    private static string[] Lines(string text) => text.Replace("\r", "").Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Runs the repository's scripts as child processes.</summary>
internal static class Script
{
    public static (int Exit, string Out, string Err) Bash(string script, params string[] args) =>
        Bash(script, args, TestData.RepositoryRoot);

    public static (int Exit, string Out, string Err) Bash(string script, string[] args, string workingDirectory, params (string Name, string Value)[] environment) =>
        Run("bash", [Path.Combine(TestData.RepositoryRoot, script), .. args], workingDirectory, environment);

    /// <summary>PowerShell from the repository's tool manifest (dotnet-tools.json; `dotnet tool restore` installs it).</summary>
    public static (int Exit, string Out, string Err) Pwsh(string script, params string[] args) =>
        Run("dotnet", ["tool", "run", "pwsh", "--", "-NoProfile", "-NonInteractive", "-File", Path.Combine(TestData.RepositoryRoot, script), .. args],
            TestData.RepositoryRoot, []);

    public static (int Exit, string Out, string Err) Run(string file, string[] args, string workingDirectory, (string Name, string Value)[] environment, int timeoutSeconds = 600)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
