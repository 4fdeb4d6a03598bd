using System.Text;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>
/// Time to accuracy per cell: rounds and whole-process seconds from x⁰ = 0 to ‖∇f‖ ≤ 1e-12 (`fednl train
/// --tolerance 1e-12`, which stops after the first round whose ‖∇f‖ is within it), beside u-FedNL's rounds on w8a.
/// </summary>
internal static class TimeToAccuracyTable
{
    /// <summary>The run stopped because ‖∇f‖ reached the tolerance (not because its rounds ran out).</summary>
    public static bool Reached(TimedRun run) => (string?)run.Json["stop_reason"] == "tolerance";

    public static string Format(BenchPlan plan, IReadOnlyList<BenchCell> cells)
    {
        var table = new StringBuilder();
        table.AppendLine($"Time to accuracy: the Table 1 configuration with --tolerance {BenchPlan.AccuracyTolerance}, from x⁰ = 0 until ‖∇f‖ ≤ " +
                         $"{BenchPlan.AccuracyTolerance} or {plan.Rounds} rounds; whole-process seconds (median); a cell that does not reach it ran once " +
                         "(its history would repeat); u-FedNL's rounds on w8a as issue 13 quotes them.");
        table.AppendLine();
        table.AppendLine($"| dataset | compressor | rounds to ‖∇f‖ ≤ {BenchPlan.AccuracyTolerance} | seconds (min–max) | final ‖∇f‖ | u-FedNL rounds |");
        table.AppendLine("|---|---|---|---|---|---|");
        foreach (var cell in cells)
        {
            var median = TimedRun.Median(cell.ToAccuracy);
            bool reached = cell.ToAccuracy.All(Reached);
            string rounds = reached ? $"{median.Json["rounds"]}" : $"not reached in {plan.Rounds}";
            string reference = UFedNLFigures.RoundsToAccuracy(plan, cell) is { } r ? Invariant(r) : "–";
            table.AppendLine($"| {cell.Dataset} | {cell.Compressor} | {rounds} | {(reached ? SecondsWithRange(cell.ToAccuracy) : "–")} | " +
                             $"{(double)median.Json["grad_norm"]!:E1} | {reference} |");
        }
        table.AppendLine();
        return table.ToString();
    }
}
