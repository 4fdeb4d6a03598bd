using System.Globalization;
using System.Text.RegularExpressions;

namespace Fednl.Tests.Cli;

/// <summary>`fednl bench`: whole-process timing and its tables, on a small LIBSVM file and the generated dense500.</summary>
[NonParallelizable]
public sealed class BenchCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private const string Bounds = "L2 read|L2 triad|L3 read|L3 triad|DRAM read|DRAM triad|FMA|gather|exp";

    /// <summary>A dominant phase with its fraction of a named bound: "hessian 0.71 of gather".</summary>
    private static readonly Regex PhaseVerdict = new($@"^(oracle|hessian|compression|aggregation|solve) ([0-9.]+(?:e-?[0-9]+)?) of ({Bounds})$");

    // 16 features with the intercept and 4 non-zeros a row: 0.07 m·D row pairs, so its clients keep the sparse plan
    private static void WriteTiny(TempFolder temp) =>
        temp.File("tiny", string.Concat(Enumerable.Range(0, 240).Select(i =>
            $"{(i % 3 == 0 ? 1 : -1)} {1 + i % 8}:1 {9 + i % 3}:0.5 15:{(i % 5) * 0.25 + 0.25}\n")));

    /// <summary>The rows of the markdown table whose header starts with <paramref name="headerStart"/>, as column → cell.</summary>
    private static List<Dictionary<string, string>> Table(string output, string headerStart)
    {
        var lines = output.Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith(headerStart, StringComparison.Ordinal));
        Assert.That(header, Is.GreaterThanOrEqualTo(0), $"no table '{headerStart}' in\n{output}");
        static string[] Cells(string line) => line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
        var names = Cells(lines[header]);
        return lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|'))
            .Select(l => names.Zip(Cells(l)).ToDictionary(p => p.First, p => p.Second)).ToList();
    }

    private static double Number(string text) => double.Parse(text.TrimEnd('×'), CultureInfo.InvariantCulture);

    [Test]
    public void Bench_prints_per_cell_goals_threads_and_time_to_accuracy()
    {
        using var temp = TestData.TempFolder();
        WriteTiny(temp);
        string markdown = Path.Combine(temp.Path, "bench.md");
        var (exit, output, error) = Run("bench", "--data-dir", temp.Path, "--datasets", "tiny", "--compressors", "identical,toplek",
            "--repeat", "2", "--rounds", "25", "--clients", "4", "--suite", "table1", "--probe-seconds", "0.002", "--markdown", markdown);
        Assert.That(exit, Is.Zero, error);
        Assert.That(File.ReadAllText(markdown), Is.EqualTo(output));
        Assert.That(error, Does.Contain("bench: [2/2] tiny toplek: "), "progress on stderr");

        var cells = Table(output, "| dataset | compressor | seconds (min–max) | ms/round |");
        Assert.That(cells.Select(c => c["compressor"]), Is.EqualTo(new[] { "identical", "toplek" }), output);
        foreach (var cell in cells)
        {
            Assert.That(cell["rounds"], Is.EqualTo("25"));
            Assert.That(cell["GCs in rounds"], Is.EqualTo("0"));
            Assert.That(Number(cell["peak MB"]), Is.GreaterThan(1));
            Assert.That(Number(cell["ms/round"]), Is.GreaterThan(0));
            // not the Table 1 configuration (and no u-FedNL figure for this file): no ratio, so the verdict names a phase
            Assert.That((cell["u-FedNL"], cell["ratio"], cell["goal"]), Is.EqualTo(("–", "–", "–")));
            Assert.That(PhaseVerdict.IsMatch(cell["verdict"]), Is.True, cell["verdict"]);
        }
        Assert.That(output, Does.Contain("u-FedNL's seconds are for 142 clients and 1000 rounds; this run has 4 clients and 25 rounds"));
        Assert.That(output, Does.Match(@"- No u-FedNL comparison \(2\): tiny identical \((oracle|hessian|compression|aggregation|solve) [^)]* of [^)]*\), tiny toplek"));

        if (Environment.ProcessorCount > 1)
        {
            int n = Environment.ProcessorCount;
            var threads = Table(output, $"| dataset | compressor | {n} threads s | 1 thread s |");
            Assert.That(threads, Has.Count.EqualTo(2), output);
            foreach (var row in threads)
            {
                Assert.That(row[$"1 / {n}"], Does.EndWith("×"));
                Assert.That(Number(row[$"1 / {n}"]), Is.GreaterThan(0));
                Assert.That(Number(row[$"rounds alone 1 / {n}"]), Is.GreaterThan(0));
                Assert.That(row["same bits"], Is.EqualTo("yes"), "histories do not depend on the thread count");
            }
        }
        else
        {
            Assert.That(output, Does.Contain("One core: no 1 vs 2 threads comparison."));
        }

        var accuracy = Table(output, "| dataset | compressor | rounds to ‖∇f‖ ≤ 1e-12 |");
        Assert.That(accuracy, Has.Count.EqualTo(2), output);
        foreach (var row in accuracy)
        {
            // this data is separable only up to the regulariser: both reach 1e-12 within 25 rounds
            Assert.That(int.TryParse(row["rounds to ‖∇f‖ ≤ 1e-12"], out int rounds) && rounds is > 0 and <= 25, Is.True, row["rounds to ‖∇f‖ ≤ 1e-12"]);
            Assert.That(Number(row["seconds (min–max)"].Split(' ')[0]), Is.GreaterThan(0));
            Assert.That(Number(row["final ‖∇f‖"]), Is.LessThanOrEqualTo(1e-12));
            Assert.That(row["u-FedNL rounds"], Is.EqualTo("–"));
        }
    }

    [Test]
    public void Dense500_natural_is_held_to_ms_per_round_and_unreached_accuracy_says_so()
    {
        var (exit, output, error) = Run("bench", "--datasets", "dense500", "--compressors", "natural,randseqk", "--repeat", "1", "--rounds", "3",
            "--suite", "table1", "--probe-seconds", "0.002", "--no-thread-compare");
        Assert.That(exit, Is.Zero, error);
        var cells = Table(output, "| dataset | compressor | seconds (min–max) | ms/round |");
        Assert.That(cells, Has.Count.EqualTo(2), output);
        var natural = cells[0];
        Assert.That(natural["u-FedNL"], Is.EqualTo("67 ms/round"));
        Assert.That(natural["goal"], Is.EqualTo("≥ 4.5× (≤ 14.9 ms/round)"));
        double ratio = Number(natural["ratio"]);
        Assert.That(ratio, Is.EqualTo(67 / Number(natural["ms/round"])).Within(0.051 * ratio + 0.051), "the ratio is 67 ms over ms/round");
        Assert.That(natural["verdict"], ratio >= 4.5 ? Is.EqualTo("goal met") : Does.Match(PhaseVerdict.ToString()));
        Assert.That(output, Does.Match(ratio >= 4.5 ? @"- Goal met \(1\): dense500 natural \(" : @"- Goal not met, dominant phase (at ≥|below) 0\.5 of its bound \(1\): dense500 natural \("));
        Assert.That((cells[1]["u-FedNL"], cells[1]["goal"]), Is.EqualTo(("–", "–")), "the issue quotes dense500 with natural only");
        Assert.That(PhaseVerdict.IsMatch(cells[1]["verdict"]), Is.True, cells[1]["verdict"]);

        Assert.That(output, Does.Contain("1 vs 2 threads: not run (--no-thread-compare)."));
        Assert.That(output, Does.Not.Contain("1 thread s"));
        var accuracy = Table(output, "| dataset | compressor | rounds to ‖∇f‖ ≤ 1e-12 |");
        Assert.That(accuracy.Select(r => (r["rounds to ‖∇f‖ ≤ 1e-12"], r["seconds (min–max)"])), Is.EqualTo(new[] { ("not reached in 3", "–"), ("not reached in 3", "–") }));
        Assert.That(output, Does.Not.Contain("FedNL-LS ("), "the suite was table1");
    }

    [Test]
    public void Roofline_suite_prints_the_bounds_and_a_fraction_of_a_named_bound_for_every_phase()
    {
        using var temp = TestData.TempFolder();
        WriteTiny(temp);
        var (exit, output, error) = Run("bench", "--data-dir", temp.Path, "--datasets", "tiny,dense500", "--compressors", "randseqk,topk",
            "--repeat", "1", "--rounds", "3", "--clients", "4", "--suite", "roofline", "--probe-seconds", "0.002");
        Assert.That(exit, Is.Zero, error);
        foreach (var bound in Bounds.Split('|'))
            Assert.That(output, Does.Contain($"| {bound} | "), output);
        if (Environment.ProcessorCount > 1)
            Assert.That(output, Does.Match($@"1 thread vs {Environment.ProcessorCount} threads( \(load average [^)]*\))?: FMA loop [0-9.]+×, L2 streaming loop"));
        Assert.That(output, Does.Not.Contain("Table 1 configuration"));
        Assert.That(output, Does.Not.Contain("rounds to ‖∇f‖"), "time to accuracy belongs to table1");
        var rows = Table(output, "| dataset | compressor | ms/round | oracle |");
        Assert.That(rows, Has.Count.EqualTo(4), output);
        var fraction = new Regex($@"^([0-9.]+(?:e-?[0-9]+)?) of ({Bounds}) \(");
        foreach (var row in rows)
        {
            Assert.That(Number(row["ms/round"]), Is.GreaterThan(0));
            foreach (var phase in new[] { "oracle", "Hessian", "compression", "aggregation", "solve" })
            {
                if (row["dataset"] == "dense500" && phase == "Hessian")
                {
                    // dense500's clients form their Hessian inside the fused step, counted and timed under compression
                    Assert.That(row[phase], Is.EqualTo("–"), output);
                    continue;
                }
                var match = fraction.Match(row[phase]);
                Assert.That(match.Success, Is.True, $"'{row[phase]}' in {row["dataset"]} {row["compressor"]}");
                double f = Number(match.Groups[1].Value);
                Assert.That(f > 0 && double.IsFinite(f), Is.True, row[phase]);
            }
        }
        Assert.That(output, Does.Contain("- dense500: n = 50, d = 500, D = 125,250, rows 600, nnz 300,000"));
    }

    [TestCase(new[] { "bench", "--data-dir", "/nonexistent-fednl-data" }, "/nonexistent-fednl-data/w8a does not exist")]
    [TestCase(new[] { "bench", "--data-dir", "/tmp", "--datasets", "x", "--compressors", "zip" }, "'zip' is not a compressor")]
    [TestCase(new[] { "bench", "--data-dir", "/tmp", "--suite", "some" }, "--suite 'some' is not table1, ls, roofline or all")]
    [TestCase(new[] { "bench", "--datasets", "dense500", "--suite", "table1,foo" }, "--suite 'foo' is not table1, ls, roofline or all")]
    [TestCase(new[] { "bench", "--datasets", "dense500", "--repeat", "0" }, "--repeat must be >= 1, got 0")]
    [TestCase(new[] { "bench", "--datasets", "dense500", "--rounds", "-2" }, "--rounds must be >= 1, got -2")]
    [TestCase(new[] { "bench", "--datasets", "dense500", "--probe-seconds", "0" }, "--probe-seconds must be in (0, 60]")]
    [TestCase(new[] { "bench", "--datasets", ",", "--data-dir", "/tmp" }, "--datasets names no dataset")]
    [TestCase(new[] { "bench", "--datasets", "dense500", "--compressors", "" }, "--compressors names no compressor")]
    [TestCase(new[] { "bench", "--datasets", "dense500", "--suite", "ls" }, "--suite ls needs a dataset file")]
    [TestCase(new[] { "bench", "--datasets", "dense500", "--no-thread-compare", "maybe" }, "maybe")]
    [TestCase(new[] { "bench", "--data-dir", "/etc", "--datasets", "hostname", "--suite", "ls", "--python", "/bin/false" },
        "'/bin/false' cannot import scikit-learn")]
    public void Bad_bench_flags_name_the_problem(string[] args, string message)
    {
        var (exit, output, error) = Run(args);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
        Assert.That(output, Is.Empty, "refused before any run");
    }
}
