using System.Text.Json.Nodes;
using Fednl.Cli.Bench;

namespace Fednl.Tests.Cli;

/// <summary>The bench's rules on its runs: the goals against the quoted u-FedNL figures, and the thread table's bit check.</summary>
public sealed class BenchFiguresTests
{
    private static TimedRun Run(double seconds, double trainSeconds, int rounds = 1000, double f = 0.25) =>
        new(seconds, JsonNode.Parse($$"""{"f":{{f:R}},"grad_norm":1e-17,"x_norm":3.5,"rounds":{{rounds}},"train_seconds":{{trainSeconds:R}}}""")!);

    private static BenchCell Cell(string dataset, string compressor, params TimedRun[] runs)
    {
        var cell = new BenchCell(dataset, compressor);
        cell.Runs.AddRange(runs);
        return cell;
    }

    private static readonly BenchPlan TableOne = new("", clients: 142, rounds: 1000, repeat: 3);

    [Test]
    public void File_datasets_compare_whole_process_seconds_with_u_fednl_in_the_table_1_configuration_only()
    {
        // w8a randseqk: u-FedNL 129 s, goal 25x; the median of three runs counts
        var met = UFedNLFigures.Compare(TableOne, Cell("w8a", "randseqk", Run(5.0, 4), Run(5.1, 4), Run(9, 8)))!;
        Assert.That((met.Quoted, met.GoalText, met.Met), Is.EqualTo(("129.0 s", "≥ 25×", true)));
        Assert.That(met.Ratio, Is.EqualTo(129 / 5.1).Within(1e-12));
        var missed = UFedNLFigures.Compare(TableOne, Cell("phishing", "toplek", Run(1.2, 1)))!;
        Assert.That((missed.Ratio, missed.Goal, missed.Met), Is.EqualTo((4.7 / 1.2, 4.0, false)));
        Assert.That(UFedNLFigures.Compare(TableOne, Cell("w8a", "permk", Run(5, 4))), Is.Null, "no u-FedNL PermK");
        Assert.That(UFedNLFigures.Compare(TableOne, Cell("tiny", "randk", Run(5, 4))), Is.Null);
        Assert.That(UFedNLFigures.Compare(new BenchPlan("", 142, 100, 1), Cell("w8a", "randk", Run(0.5, 0.4, rounds: 100))), Is.Null,
            "u-FedNL's seconds are for 1000 rounds");
        Assert.That(UFedNLFigures.Compare(new BenchPlan("", 10, 1000, 1), Cell("a9a", "randk", Run(0.5, 0.4))), Is.Null, "and for 142 clients");
    }

    [Test]
    public void Dense500_natural_is_held_to_67_ms_a_round_over_4_5_in_any_configuration()
    {
        var plan = new BenchPlan("", clients: 10, rounds: 50, repeat: 1);
        var fast = UFedNLFigures.Compare(plan, Cell("dense500", "natural", Run(9, 0.70, rounds: 50)))!; // 14 ms a round
        Assert.That((fast.Quoted, fast.GoalText, fast.Met), Is.EqualTo(("67 ms/round", "≥ 4.5× (≤ 14.9 ms/round)", true)));
        Assert.That(fast.Ratio, Is.EqualTo(67.0 / 14).Within(1e-12));
        Assert.That(UFedNLFigures.Compare(plan, Cell("dense500", "natural", Run(9, 0.76, rounds: 50)))!.Met, Is.False); // 15.2 ms
        Assert.That(UFedNLFigures.Compare(plan, Cell("dense500", "randseqk", Run(9, 0.5, rounds: 50))), Is.Null);
    }

    [Test]
    public void U_fednl_rounds_to_accuracy_are_quoted_for_w8a_with_142_clients()
    {
        Assert.That(new[] { "randk", "topk", "toplek", "randseqk", "natural", "identical" }
            .Select(c => UFedNLFigures.RoundsToAccuracy(TableOne, Cell("w8a", c))), Is.EqualTo(new int?[] { 212, 240, 245, 188, 25, 19 }));
        Assert.That(UFedNLFigures.RoundsToAccuracy(TableOne, Cell("w8a", "permk")), Is.Null);
        Assert.That(UFedNLFigures.RoundsToAccuracy(TableOne, Cell("a9a", "randk")), Is.Null);
        Assert.That(UFedNLFigures.RoundsToAccuracy(new BenchPlan("", 10, 1000, 1), Cell("w8a", "randk")), Is.Null);
    }

    [Test]
    public void The_thread_table_flags_runs_whose_bits_differ()
    {
        var same = Cell("w8a", "randk", Run(2, 1.5));
        same.OneThread.Add(Run(3, 2.5));
        var differ = Cell("w8a", "topk", Run(2, 1.5));
        differ.OneThread.Add(Run(3, 2.5, f: 0.25000000000000006));
        var rows = ThreadTable.Format([same, differ]).Split('\n').Where(l => l.StartsWith("| w8a |", StringComparison.Ordinal)).ToArray();
        Assert.That(rows[0], Does.EndWith("| 1.50× | 1.67× | yes |"));
        Assert.That(rows[1], Does.EndWith("| NO |"));
    }
}
