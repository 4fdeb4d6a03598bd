using System.Text;
using Fednl.Data;
using Fednl.Reporting;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>
/// The Table 1 cells: median whole-process seconds, the quoted u-FedNL figure, the ratio and issue 13's goal, a
/// verdict (the goal met, or the dominant phase's roofline fraction), peak memory and the phase breakdown; then a
/// note that names the cells that meet their goal and, for the others, the bound that stops them.
/// </summary>
internal static class TableOne
{
    public static string Format(BenchPlan plan, IReadOnlyList<BenchCell> cells, MachineBounds bounds)
    {
        var table = new StringBuilder();
        bool dense500 = cells.Any(c => c.Dataset == SyntheticDataset.Dense500Name);
        table.AppendLine($"Table 1 configuration: --add-intercept, {plan.Clients} clients, {plan.Rounds} rounds, K = 8d, λ = 1e-3, option 2, " +
                         "α option 2; whole-process seconds (median), ms/round of the rounds alone, phases in CPU seconds summed over the workers" +
                         (dense500 ? $"; {SyntheticDataset.Dense500Name}: generated, d = 500 without intercept, {SyntheticDataset.Dense500Clients} clients of 12." : "."));
        table.AppendLine();
        table.AppendLine("| dataset | compressor | seconds (min–max) | ms/round | u-FedNL | ratio | goal | verdict | rounds | final ‖∇f‖ | bytes up | peak MB | " +
                         "oracle | Hessian | compression | aggregation | solve | GCs in rounds |");
        table.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var met = new List<string>();
        var atBound = new List<string>();
        var open = new List<string>();
        var unquoted = new List<string>();
        foreach (var cell in cells)
        {
            var median = cell.Median;
            var json = median.Json;
            var phases = json["phases"]!;
            var comparison = UFedNLFigures.Compare(plan, cell);
            var dominant = CellRoofline.Dominant(CellRoofline.Of(plan, cell, bounds));
            string name = $"{cell.Dataset} {cell.Compressor}";
            if (comparison is { Met: true }) met.Add($"{name} ({F(comparison.Ratio, 1)}×)");
            else if (comparison is null) unquoted.Add($"{name} ({dominant.Verdict})");
            else (dominant.AtBound ? atBound : open).Add($"{name} ({F(comparison.Ratio, 1)}×; {dominant.Verdict})");
            table.AppendLine($"| {cell.Dataset} | {cell.Compressor} | {SecondsWithRange(cell.Runs)} | {F(median.MillisecondsPerRound, 2)} | " +
                             $"{comparison?.Quoted ?? "–"} | {(comparison is null ? "–" : F(comparison.Ratio, 1) + "×")} | {comparison?.GoalText ?? "–"} | " +
                             $"{(comparison is { Met: true } ? "goal met" : dominant.Verdict)} | {json["rounds"]} | {(double)json["grad_norm"]!:E1} | " +
                             $"{(long)json["bytes_up"]!:N0} | {PeakMegabytes(json)} | " +
                             string.Join(" | ", CellRoofline.Phases.Select(p => F((double)phases[p]!, 2))) + $" | {json["gc_during_rounds"]} |");
        }
        table.AppendLine();
        if (!plan.IsTableOneConfiguration && cells.Any(c => !BenchPlan.IsGenerated(c.Dataset)))
            table.AppendLine($"u-FedNL's seconds are for 142 clients and 1000 rounds; this run has {plan.Clients} clients and {plan.Rounds} rounds, " +
                             "so the file datasets get no ratio and no goal.");
        if (dense500)
            table.AppendLine($"{SyntheticDataset.Dense500Name}: u-FedNL is quoted only with natural (about {F(UFedNLFigures.Dense500NaturalMilliseconds, 0)} ms a round), compared by ms/round; " +
                             "the other compressors send other traffic and have no quoted figure.");
        table.AppendLine("Verdict: \"goal met\", or the phase with the most CPU seconds and its rate as a fraction of the roofline bound it is " +
                         "limited by; issue 13 counts a cell done when it meets its goal or its dominant phases run at ≥ 0.5 of their bound.");
        table.AppendLine();
        void Line(string label, List<string> list)
        {
            if (list.Count > 0) table.AppendLine($"- {label} ({list.Count}): {string.Join(", ", list)}.");
        }
        Line("Goal met", met);
        Line("Goal not met, dominant phase at ≥ 0.5 of its bound", atBound);
        Line("Goal not met, dominant phase below 0.5 of its bound", open);
        Line("No u-FedNL comparison", unquoted);
        table.AppendLine();
        return table.ToString();
    }

    private static string PeakMegabytes(System.Text.Json.Nodes.JsonNode json) =>
        json["peak_rss_bytes"] is { } peak ? F((long)peak / 1e6, 0) : "–";
}
