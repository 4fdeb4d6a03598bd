using System.Text;
using Fednl.Kernels;
using Fednl.Reporting;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>
/// The roofline: this machine's bounds (one core and all cores, and what 1 vs 2 threads says about the cores), then
/// per cell each phase's achieved rate as a fraction of the bound it is limited by (<see cref="CellRoofline"/>).
/// </summary>
internal static class RooflineTables
{
    public static string Bounds(MachineBounds b)
    {
        var table = new StringBuilder();
        table.AppendLine($"Machine bounds ({KernelSettings.Active} kernels; L2 {b.L2CacheBytes >> 10} KiB per core, L3 {b.L3CacheBytes >> 20} MiB; " +
                         $"best of 5 timed runs, all cores = {b.Threads} threads each with its own buffers):");
        table.AppendLine();
        table.AppendLine($"| bound | one core | all cores ({b.Threads} threads) | all / one |");
        table.AppendLine("|---|---|---|---|");
        void Row(string name, Rate r, string unit) =>
            table.AppendLine($"| {name} | {F(r.PerCore / 1e9, 2)} {unit} | {F(r.AllCores / 1e9, 2)} {unit} | {F(r.Scaling, 2)}× |");
        Row("L2 read", b.L2Read, "GB/s");
        Row("L2 triad", b.L2Triad, "GB/s");
        Row("L3 read", b.L3Read, "GB/s");
        Row("L3 triad", b.L3Triad, "GB/s");
        Row("DRAM read", b.DramRead, "GB/s");
        Row("DRAM triad", b.DramTriad, "GB/s");
        Row("FMA", b.Fma, "G/s");
        Row("gather", b.Gather, "G/s");
        Row("exp", b.Exp, "G/s");
        table.AppendLine();
        if (b.Threads > 1)
        {
            bool separate = b.Fma.Scaling > 0.75 * b.Threads && b.L2Read.Scaling > 0.75 * b.Threads;
            bool shared = b.Fma.Scaling < 1.3;
            bool loaded = b.LoadAverageAtStart is { } average && average > 0.5 * Environment.ProcessorCount;
            string siblings = MachineBounds.ReportedSiblings() is { } list ? $"; the kernel lists cpu0's hyper-thread siblings as \"{list}\"" : "";
            string loadText = b.LoadAverageAtStart is { } l ? $" (load average {F(l, 1)} on {Environment.ProcessorCount} cores when measured)" : "";
            table.AppendLine($"1 thread vs {b.Threads} threads{loadText}: FMA loop {F(b.Fma.Scaling, 2)}×, L2 streaming loop {F(b.L2Read.Scaling, 2)}×, " +
                             $"DRAM streaming loop {F(b.DramRead.Scaling, 2)}× — " +
                             (separate ? "the vCPUs behave as separate physical cores (siblings of one core would give about 1× on FMA)"
                                 : shared && loaded ? "no gain from the second thread, but other processes were using the cores, so this cannot tell siblings from a busy core"
                                 : shared ? "the vCPUs share one physical core's FMA units (hyper-thread siblings)"
                                 : "neither clearly separate cores nor siblings (noisy neighbours?)") + siblings + ".");
            table.AppendLine();
        }
        return table.ToString();
    }

    public static string PerCell(BenchPlan plan, IReadOnlyList<BenchCell> cells, MachineBounds bounds)
    {
        var table = new StringBuilder();
        table.AppendLine($"Roofline per cell: each phase's achieved rate (its work per round, counted from the data and the compressor, over " +
                         $"its measured seconds per round) as a fraction of the bound it is limited by, named; client phases against one " +
                         $"core's share of the {bounds.Threads}-thread rate, the server's against one core. {plan.Rounds} rounds.");
        table.AppendLine();
        table.AppendLine("| dataset | compressor | ms/round | oracle | Hessian | compression | aggregation | solve |");
        table.AppendLine("|---|---|---|---|---|---|---|---|");
        var shapes = new StringBuilder();
        foreach (var cell in cells)
        {
            var phases = CellRoofline.Of(plan, cell, bounds);
            table.AppendLine($"| {cell.Dataset} | {cell.Compressor} | {F(cell.Median.MillisecondsPerRound, 2)} | " +
                             string.Join(" | ", phases.Select(p => p.FractionText)) + " |");
            if (cells.First(c => c.Dataset == cell.Dataset) == cell) shapes.AppendLine(ShapeLine(plan, cell));
        }
        table.AppendLine();
        table.Append(shapes);
        table.AppendLine();
        return table.ToString();
    }

    /// <summary>The dataset's shape and each phase's working set, under the first compressor of its cells.</summary>
    private static string ShapeLine(BenchPlan plan, BenchCell cell)
    {
        var shape = plan.ShapeOf(cell.Dataset);
        var clients = shape.Clients;
        int d = shape.Features;
        var work = CellRoofline.WorkOf(shape, cell.Compressor);
        return $"- {cell.Dataset}: n = {clients.Count}, d = {d}, D = {(long)d * (d + 1) / 2:N0}, rows {clients.Sum(c => c.Rows):N0}, " +
               $"nnz {clients.Sum(c => c.Nonzeros):N0}, row pairs {clients.Sum(c => c.Pairs):N0}, P {clients.Sum(c => c.PatternLength):N0} " +
               $"(summed over clients), {clients.Count(c => c.Dense)} dense clients; working sets per round: oracle " +
               $"{work.Oracle.Footprint / 1e6:F1} MB, Hessian {work.Hessian.Footprint / 1e6:F1} MB, compression " +
               $"{work.Compression.Footprint / 1e6:F1} MB, aggregation {work.Aggregation.Footprint / 1e6:F1} MB.";
    }
}
