using System.Text;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>
/// 1 thread against the default worker threads per cell: whole-process seconds of both (median), their ratio, the
/// ratio of the rounds alone, and whether both end with the same bits (histories must not depend on the threads).
/// </summary>
internal static class ThreadTable
{
    public static string Format(IReadOnlyList<BenchCell> cells)
    {
        int threads = Environment.ProcessorCount;
        var table = new StringBuilder();
        table.AppendLine($"1 thread against {threads} (the default, one worker per core): the Table 1 runs and the same with --threads 1, " +
                         "alternating run by run; whole-process seconds (median), the ratio of the rounds alone (train_seconds), and whether " +
                         "every run of both ends with the same f, ‖∇f‖ and ‖x‖ bits.");
        table.AppendLine();
        table.AppendLine($"| dataset | compressor | {threads} threads s | 1 thread s | 1 / {threads} | rounds alone 1 / {threads} | same bits |");
        table.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var cell in cells)
        {
            TimedRun many = cell.Median, one = TimedRun.Median(cell.OneThread);
            double roundsRatio = (double)one.Json["train_seconds"]! / (double)many.Json["train_seconds"]!;
            table.AppendLine($"| {cell.Dataset} | {cell.Compressor} | {SecondsWithRange(cell.Runs)} | {SecondsWithRange(cell.OneThread)} | " +
                             $"{F(one.Seconds / many.Seconds, 2)}× | {F(roundsRatio, 2)}× | {(SameBits(cell) ? "yes" : "NO")} |");
        }
        table.AppendLine();
        return table.ToString();
    }

    /// <summary>Every run of the cell, on either thread count, reports the same final f, ‖∇f‖ and ‖x‖ (shortest round-trip text).</summary>
    private static bool SameBits(BenchCell cell)
    {
        var runs = cell.Runs.Concat(cell.OneThread).Select(r => string.Join(' ', new[] { "f", "grad_norm", "x_norm" }.Select(k => r.Json[k]?.ToJsonString()))).ToList();
        return runs.All(r => r == runs[0]);
    }
}
