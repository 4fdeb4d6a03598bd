using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>Times the cells' `fednl train` processes, with progress on stderr.</summary>
internal static class CellMeasurement
{
    /// <summary>
    /// Runs what each cell still lacks, repeat by repeat: the Table 1 run, then (when asked) the same with --threads 1
    /// and the run to ‖∇f‖ ≤ 1e-12, so the kinds alternate and drifting load from other processes hits them alike.
    /// Runs a cell already has are kept (the roofline reuses Table 1's); a run to the tolerance that does not reach
    /// it is not repeated.
    /// </summary>
    public static void Run(BenchPlan plan, IReadOnlyList<BenchCell> cells, bool oneThread, bool toAccuracy)
    {
        int processes = (1 + (oneThread ? 1 : 0) + (toAccuracy ? 1 : 0)) * plan.Repeat;
        if (cells.Any(c => c.Runs.Count < plan.Repeat))
            Console.Error.WriteLine($"bench: {cells.Count} cells, up to {processes} processes each (--repeat {plan.Repeat}" +
                                    (oneThread ? ", --threads 1 too" : "") + (toAccuracy ? $", to ‖∇f‖ ≤ {BenchPlan.AccuracyTolerance} too" : "") + ")");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int index = 0; index < cells.Count; index++)
        {
            var cell = cells[index];
            int before = Count(cell);
            for (int r = 0; r < plan.Repeat; r++)
            {
                if (cell.Runs.Count <= r)
                    cell.Runs.Add(TimedRun.OfFednl(plan.TrainArguments(cell.Dataset, cell.Compressor)));
                if (oneThread && cell.OneThread.Count <= r)
                    cell.OneThread.Add(TimedRun.OfFednl(plan.TrainArguments(cell.Dataset, cell.Compressor, "--threads", "1")));
                // histories are deterministic: a run that did not reach the tolerance would not on a repeat either
                if (toAccuracy && cell.ToAccuracy.Count <= r && cell.ToAccuracy.All(TimeToAccuracyTable.Reached))
                    cell.ToAccuracy.Add(TimedRun.OfFednl(plan.TrainArguments(cell.Dataset, cell.Compressor, "--tolerance", BenchPlan.AccuracyTolerance)));
            }
            if (Count(cell) > before) Console.Error.WriteLine($"bench: [{index + 1}/{cells.Count}] {Progress(cell)} ({F(clock.Elapsed.TotalMinutes, 1)} min so far)");
        }
    }

    private static int Count(BenchCell cell) => cell.Runs.Count + cell.OneThread.Count + cell.ToAccuracy.Count;

    private static string Progress(BenchCell cell)
    {
        string text = $"{cell.Dataset} {cell.Compressor}: {F(cell.Median.Seconds, 2)} s";
        if (cell.OneThread.Count > 0) text += $", 1 thread {F(TimedRun.Median(cell.OneThread).Seconds, 2)} s";
        if (cell.ToAccuracy.Count > 0)
        {
            var run = TimedRun.Median(cell.ToAccuracy);
            text += TimeToAccuracyTable.Reached(run) ? $", ‖∇f‖ ≤ {BenchPlan.AccuracyTolerance} in {run.Json["rounds"]} rounds, {F(run.Seconds, 2)} s"
                : $", ‖∇f‖ ≤ {BenchPlan.AccuracyTolerance} not reached";
        }
        return text;
    }
}
