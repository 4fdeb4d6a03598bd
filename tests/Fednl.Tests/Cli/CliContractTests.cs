using System.Text.Json;
using Fednl.Cli;

namespace Fednl.Tests.Cli;

/// <summary>The `fednl` command's contract: flags, exit codes, the --json line, CSV and plots.</summary>
[NonParallelizable]
public sealed class CliContractTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Test]
    public void Json_mode_prints_exactly_one_json_line_with_the_contract_fields()
    {
        var (exit, output, error) = Run("train", "--rounds", "15", "--compressor", "topk", "--json");
        Assert.That(exit, Is.Zero, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), "nothing but the JSON line in --json mode");
        using var json = JsonDocument.Parse(lines[^1]);
        foreach (var field in new[] { "f", "grad_norm", "rounds", "train_seconds", "setup_seconds", "bytes_up", "bytes_down", "dropped_samples" })
            Assert.That(json.RootElement.TryGetProperty(field, out _), Is.True, field);
        Assert.That(json.RootElement.GetProperty("rounds").GetInt32(), Is.EqualTo(15));
        Assert.That(json.RootElement.GetProperty("grad_norm").GetDouble(), Is.LessThan(1e-6));
    }

    [Test]
    public void Json_says_why_the_run_stopped_and_whether_it_converged()
    {
        var (exit, output, error) = Run("train", "--rounds", "40", "--compressor", "identical", "--json");
        Assert.That(exit, Is.Zero, error);
        using (var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]))
        {
            var root = json.RootElement;
            Assert.That(root.GetProperty("stop_reason").GetString(), Is.EqualTo("rounds"));
            Assert.That(root.GetProperty("grad_norm").GetDouble(), Is.LessThanOrEqualTo(1e-10));
            Assert.That(root.GetProperty("converged").GetBoolean(), Is.True, "no tolerance: converged means ||grad f|| <= 1e-10");
            Assert.That(root.GetProperty("scaled").GetBoolean(), Is.False);
            Assert.That(root.TryGetProperty("stop_message", out _), Is.False);
        }
        (exit, output, error) = Run("train", "--rounds", "40", "--compressor", "identical", "--tolerance", "1e-8", "--scale", "--json");
        Assert.That(exit, Is.Zero, error);
        using (var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]))
        {
            var root = json.RootElement;
            Assert.That(root.GetProperty("stop_reason").GetString(), Is.EqualTo("tolerance"));
            Assert.That(root.GetProperty("rounds").GetInt32(), Is.LessThan(40));
            Assert.That(root.GetProperty("converged").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("scaled").GetBoolean(), Is.True);
        }
        (exit, output, error) = Run("train", "--rounds", "2", "--json");
        Assert.That(exit, Is.Zero, error);
        using (var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]))
            Assert.That(json.RootElement.GetProperty("converged").GetBoolean(), Is.False, "two rounds are not enough");
    }

    [Test]
    public void A_diverged_run_exits_1_with_one_line_naming_cause_and_remedy_and_keeps_its_history()
    {
        using var temp = TestData.TempFolder();
        string csv = Path.Combine(temp.Path, "h.csv");
        // gradient descent with a step of 1e300 leaves the finite numbers in its first step
        var (exit, output, error) = Run("train", "--algorithm", "gd", "--alpha", "1e300", "--rounds", "20", "--out", csv, "--json");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain("diverged at round").And.Contain("f = Infinity").And.Contain("--alpha").And.Contain("--scale"));
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        Assert.That(json.RootElement.GetProperty("stop_reason").GetString(), Is.EqualTo("diverged"));
        Assert.That(json.RootElement.GetProperty("converged").GetBoolean(), Is.False);
        Assert.That(json.RootElement.GetProperty("stop_message").GetString(), Does.Contain("diverged"));
        var history = Fednl.Reporting.HistoryCsv.Read(csv).History;
        Assert.That(history, Has.Count.GreaterThanOrEqualTo(2), "the history is kept");
        Assert.That(history[^1].Note, Does.Contain("diverged"));
    }

    [Test]
    public void Test_accuracy_is_reported_with_a_test_file()
    {
        using var temp = TestData.TempFolder();
        string train = temp.File("train.svm", string.Concat(Enumerable.Range(0, 200).Select(i => $"{(i % 2 == 0 ? 1 : -1)} 1:{(i % 2 == 0 ? 1 : -1) * (1 + i % 7) * 0.1} 2:{i % 3}\n")));
        string test = temp.File("test.svm", "1 1:0.5\n-1 1:-0.5\n1 1:0.3 3:9\n");
        var (exit, output, error) = Run("train", "--data", train, "--test", test, "--add-intercept", "--clients", "4", "--rounds", "10", "--json");
        Assert.That(exit, Is.Zero, error);
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        Assert.That(json.RootElement.GetProperty("test_accuracy").GetDouble(), Is.EqualTo(1.0));
    }

    [TestCase(new[] { "train", "--compressor", "zip" }, "unknown compressor 'zip'")]
    [TestCase(new[] { "train", "--k-mult", "0" }, "k-mult must be > 0")]
    [TestCase(new[] { "train", "--lambda", "-1" }, "lambda must be >= 0")]
    [TestCase(new[] { "train", "--clients", "5000" }, "--clients 5000 exceeds the 4000 samples")]
    [TestCase(new[] { "train", "--option", "3" }, "--option must be 1 or 2")]
    [TestCase(new[] { "train", "--algorithm", "sgd" }, "unknown algorithm 'sgd'")]
    [TestCase(new[] { "train", "--divergence-factor", "-1" }, "--divergence-factor must be >= 0")]
    [TestCase(new[] { "train", "--line-search-tries", "0" }, "--line-search-tries must be >= 1")]
    [TestCase(new[] { "train", "--step", "half" }, "unknown --step 'half'")]
    [TestCase(new[] { "train", "--algorithm", "fednl-ls", "--step", "damped" }, "the damped step is for --algorithm fednl")]
    [TestCase(new[] { "train", "--rounds", "many" }, "many")]
    [TestCase(new[] { "train", "--no-such-flag" }, "--no-such-flag")]
    [TestCase(new[] { "master", "--listen", "127.0.0.1:0", "--insecure", "--engine", "zmq" }, "unknown --engine 'zmq' (expected framed|grpc)")]
    [TestCase(new[] { "master", "--listen", "127.0.0.1:0", "--insecure", "--max-dimension", "500" }, "--max-dimension applies to --engine grpc")]
    [TestCase(new[] { "master", "--listen", "127.0.0.1:0", "--insecure", "--engine", "grpc", "--max-dimension", "0" }, "--max-dimension must be >= 1, got 0")]
    [TestCase(new[] { "master", "--listen", "127.0.0.1:0", "--insecure", "--engine", "grpc", "--dimension", "600", "--max-dimension", "500" }, "--dimension 600 exceeds --max-dimension 500")]
    [TestCase(new[] { "client", "--master", "127.0.0.1:1", "--id", "0", "--insecure", "--engine", "http" }, "unknown --engine 'http'")]
    [TestCase(new[] { "client", "--master", "127.0.0.1:1", "--id", "0", "--insecure", "--private" }, "--private needs --key FILE")]
    [TestCase(new[] { "client", "--master", "127.0.0.1:1", "--id", "0", "--insecure", "--key", "k.bin" }, "are for private mode (--private)")]
    [TestCase(new[] { "client", "--master", "127.0.0.1:1", "--id", "0", "--insecure", "--out", "h.csv" }, "are for private mode (--private)")]
    [TestCase(new[] { "client", "--master", "127.0.0.1:1", "--id", "0", "--insecure", "--private", "--key", "k.bin", "--engine", "grpc" }, "--private runs over the framed engine only")]
    [TestCase(new[] { "client", "--master", "127.0.0.1:1", "--id", "0", "--insecure", "--private", "--key", "k.bin", "--resume" }, "--resume need --checkpoint FILE")]
    [TestCase(new[] { "master", "--listen", "127.0.0.1:0", "--insecure", "--private", "--engine", "grpc" }, "--private runs over the framed engine only")]
    [TestCase(new[] { "master", "--listen", "127.0.0.1:0", "--insecure", "--private", "--out", "h.csv" }, "the master of a private run cannot read the history")]
    [TestCase(new[] { "master", "--listen", "127.0.0.1:0", "--insecure", "--private", "--key", "k.bin" }, "--key")]
    public void Bad_flags_get_one_line_and_exit_code_2(string[] args, string message)
    {
        var (exit, _, error) = Run(args);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), "one line, no stack trace");
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Keys_init_writes_an_owner_only_key_once_and_clients_refuse_a_key_others_can_read()
    {
        using var temp = TestData.TempFolder();
        string key = Path.Combine(temp.Path, "key.bin");
        var (exit, output, error) = Run("keys", "init", "--out", key);
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("256-bit key").And.Contain("never to the master"));
        Assert.That(File.GetUnixFileMode(key), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var bytes = File.ReadAllBytes(key);
        (exit, _, error) = Run("keys", "init", "--out", key);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.Contain("already exists; a key file is never overwritten"));
        Assert.That(File.ReadAllBytes(key), Is.EqualTo(bytes));

        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        (exit, _, error) = Run("client", "--master", "127.0.0.1:1", "--id", "0", "--insecure", "--private", "--key", key);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.Trim(), Does.Contain($"key file {key} is accessible by its group or others").And.Contain("chmod 600"));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void A_bad_data_file_gets_one_line_naming_it_and_exit_code_1()
    {
        using var temp = TestData.TempFolder();
        string bad = temp.File("bad.svm", "1 1:1\n0 2:x\n");
        var (exit, _, error) = Run("train", "--data", bad, "--clients", "1");
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("bad.svm:2"));
        var (missingExit, _, missingError) = Run("train", "--data", Path.Combine(temp.Path, "absent"));
        Assert.That(missingExit, Is.EqualTo(1));
        Assert.That(missingError, Does.Contain("no such file"));
    }

    [Test]
    public void History_csv_and_plot()
    {
        using var temp = TestData.TempFolder();
        string a = Path.Combine(temp.Path, "a.csv"), b = Path.Combine(temp.Path, "b.csv"), svg = Path.Combine(temp.Path, "p.svg");
        Assert.That(Run("train", "--rounds", "8", "--compressor", "randk", "--out", a, "--json").Exit, Is.Zero);
        Assert.That(Run("train", "--rounds", "8", "--compressor", "natural", "--out", b, "--json").Exit, Is.Zero);
        var lines = File.ReadAllLines(a);
        Assert.That(lines[0], Does.StartWith("# run: "));
        Assert.That(lines[1], Is.EqualTo(Fednl.Reporting.HistoryCsv.Header));
        Assert.That(lines, Has.Length.EqualTo(2 + 9), "rounds 0..8");

        var (exit, _, error) = Run("plot", a, b, "-o", svg);
        Assert.That(exit, Is.Zero, error);
        string text = File.ReadAllText(svg);
        Assert.That(text, Does.StartWith("<svg"));
        Assert.That(System.Text.RegularExpressions.Regex.Matches(text, "<polyline").Count, Is.EqualTo(6), "two runs, three panels");
        Assert.That(text, Does.Contain("randk").And.Contain("natural"));

        var (badExit, _, badError) = Run("plot", Path.Combine(temp.Path, "nope.csv"), "-o", svg);
        Assert.That(badExit, Is.EqualTo(1));
        Assert.That(badError, Does.Contain("nope.csv"));
    }
}
