namespace Fednl.Tests.Cli;

/// <summary>`fednl bench`: whole-process timing and its table, on a small generated dataset.</summary>
[NonParallelizable]
public sealed class BenchCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Test]
    public void Bench_runs_each_cell_as_a_process_and_prints_the_table()
    {
        using var temp = TestData.TempFolder();
        temp.File("tiny", string.Concat(Enumerable.Range(0, 240).Select(i =>
            $"{(i % 3 == 0 ? 1 : -1)} {1 + i % 4}:1 {5 + i % 3}:0.5 9:{(i % 5) * 0.25 + 0.25}\n")));
        string markdown = Path.Combine(temp.Path, "bench.md");
        var (exit, output, error) = Run("bench", "--data-dir", temp.Path, "--datasets", "tiny", "--compressors", "randk,toplek",
            "--repeat", "2", "--rounds", "5", "--clients", "4", "--suite", "table1", "--markdown", markdown);
        Assert.That(exit, Is.Zero, error);
        var rows = output.Split('\n').Where(l => l.StartsWith("| tiny |", StringComparison.Ordinal)).ToArray();
        Assert.That(rows, Has.Length.EqualTo(2), output);
        Assert.That(rows[0], Does.StartWith("| tiny | randk |"));
        Assert.That(rows[1], Does.StartWith("| tiny | toplek |"));
        // rounds and the zero GC count are the child processes' own report
        Assert.That(rows[0].Split('|').Select(c => c.Trim()), Does.Contain("5"));
        Assert.That(File.ReadAllText(markdown), Is.EqualTo(output));
    }

    [Test]
    public void Roofline_suite_prints_the_bounds_and_a_fraction_of_a_named_bound_for_every_phase()
    {
        using var temp = TestData.TempFolder();
        temp.File("tiny", string.Concat(Enumerable.Range(0, 240).Select(i =>
            $"{(i % 3 == 0 ? 1 : -1)} {1 + i % 4}:1 {5 + i % 3}:0.5 9:{(i % 5) * 0.25 + 0.25}\n")));
        var (exit, output, error) = Run("bench", "--data-dir", temp.Path, "--datasets", "tiny,dense500", "--compressors", "randseqk,topk",
            "--repeat", "1", "--rounds", "3", "--clients", "4", "--suite", "roofline", "--probe-seconds", "0.002");
        Assert.That(exit, Is.Zero, error);
        foreach (var bound in new[] { "L2 read", "L2 triad", "L3 read", "L3 triad", "DRAM read", "DRAM triad", "FMA", "gather", "exp" })
            Assert.That(output, Does.Contain($"| {bound} | "), output);
        if (Environment.ProcessorCount > 1)
            Assert.That(output, Does.Match($@"1 thread vs {Environment.ProcessorCount} threads( \(load average [^)]*\))?: FMA loop [0-9.]+×, L2 streaming loop"));
        Assert.That(output, Does.Not.Contain("Table 1 configuration"));
        var rows = output.Split('\n').Where(l => l.StartsWith("| tiny |", StringComparison.Ordinal) || l.StartsWith("| dense500 |", StringComparison.Ordinal)).ToArray();
        Assert.That(rows, Has.Length.EqualTo(4), output);
        var fraction = new System.Text.RegularExpressions.Regex(@"^([0-9.]+(?:e-?[0-9]+)?) of (L2 read|L2 triad|L3 read|L3 triad|DRAM read|DRAM triad|FMA|gather|exp) \(");
        foreach (var row in rows)
        {
            var cells = row.Split('|').Select(c => c.Trim()).ToArray();
            Assert.That(double.Parse(cells[3], System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0), row); // ms per round
            foreach (var cell in cells[4..9])
            {
                var match = fraction.Match(cell);
                Assert.That(match.Success, Is.True, $"'{cell}' in {row}");
                double f = double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.That(f > 0 && double.IsFinite(f), Is.True, $"'{cell}' in {row}");
            }
        }
        Assert.That(output, Does.Contain("- dense500: n = 50, d = 500, D = 125,250, rows 600, nnz 300,000"));
    }

    [TestCase(new[] { "bench", "--data-dir", "/nonexistent-fednl-data" }, "/nonexistent-fednl-data/w8a does not exist")]
    [TestCase(new[] { "bench", "--data-dir", "/tmp", "--datasets", "x", "--compressors", "zip" }, "'zip' is not a compressor")]
    [TestCase(new[] { "bench", "--data-dir", "/tmp", "--suite", "some" }, "--suite 'some' is not table1, ls, roofline or all")]
    public void Bad_bench_flags_name_the_problem(string[] args, string message)
    {
        var (exit, _, error) = Run(args);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain(message));
    }
}
