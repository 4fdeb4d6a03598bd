using System.Globalization;

namespace Fednl.Cli.Bench;

/// <summary>How the bench's tables write numbers (invariant culture).</summary>
internal static class BenchText
{
    public static string F(double v, int digits) => v.ToString("F" + digits, CultureInfo.InvariantCulture);

    public static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Two decimals, or two significant digits in exponent form below 0.01 (so a small fraction is never "0.00").</summary>
    public static string Small(double v) => v >= 0.01 || v == 0 ? F(v, 2) : v.ToString("0.0e0", CultureInfo.InvariantCulture);

    /// <summary>"4.71 (4.50–5.02)": the median run's seconds and the range of all runs.</summary>
    public static string SecondsWithRange(IReadOnlyList<TimedRun> runs) =>
        $"{F(TimedRun.Median(runs).Seconds, 2)} ({F(runs.Min(r => r.Seconds), 2)}–{F(runs.Max(r => r.Seconds), 2)})";
}
