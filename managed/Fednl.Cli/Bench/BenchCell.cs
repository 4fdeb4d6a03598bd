namespace Fednl.Cli.Bench;

/// <summary>One cell of the bench, a dataset and a compressor, and the processes timed for it.</summary>
internal sealed class BenchCell(string dataset, string compressor)
{
    public string Dataset { get; } = dataset;
    public string Compressor { get; } = compressor;

    /// <summary>The Table 1 runs: --rounds rounds on the default worker threads (one per core).</summary>
    public List<TimedRun> Runs { get; } = [];

    /// <summary>The same runs with --threads 1 (empty when the comparison is off).</summary>
    public List<TimedRun> OneThread { get; } = [];

    /// <summary>The same configuration with --tolerance 1e-12: from x⁰ = 0 until ‖∇f‖ ≤ 1e-12 or --rounds.</summary>
    public List<TimedRun> ToAccuracy { get; } = [];

    public TimedRun Median => TimedRun.Median(Runs);

    public static List<BenchCell> All(IEnumerable<string> datasets, IReadOnlyList<string> compressors) =>
        datasets.SelectMany(d => compressors.Select(c => new BenchCell(d, c))).ToList();
}
