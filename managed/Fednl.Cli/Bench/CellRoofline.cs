using Fednl.Compression;
using Fednl.Reporting;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>One phase of a cell's median run: its CPU seconds and its rate as a fraction of the bound it is limited by.</summary>
internal sealed record PhaseOfCell(string Name, double CpuSeconds, PhaseFraction Fraction)
{
    /// <summary>"0.71 of gather (1.14 G/s)", or "–" when the phase has no counted work or time.</summary>
    public string FractionText => double.IsNaN(Fraction.Fraction) ? "–" : $"{Small(Fraction.Fraction)} of {Fraction.Bound} ({Small(Fraction.AchievedRate)} {Fraction.Unit})";

    /// <summary>"hessian 0.71 of gather", or "hessian (no counted work)".</summary>
    public string Verdict => double.IsNaN(Fraction.Fraction) ? $"{Name} (no counted work)" : $"{Name} {Small(Fraction.Fraction)} of {Fraction.Bound}";

    /// <summary>Issue 13 counts a cell done without its goal when the phases that dominate it reach half their bound.</summary>
    public bool AtBound => Fraction.Fraction >= 0.5;
}

/// <summary>
/// The roofline of a cell: each phase's work per round counted from the data's shape and the compressor
/// (<see cref="WorkCounts"/>) over the phase's seconds per round in the cell's median run, against the machine's bounds.
/// </summary>
internal static class CellRoofline
{
    /// <summary>The `--json` phases in the order the tables print them; oracle, Hessian and compression run on the clients.</summary>
    public static readonly string[] Phases = ["oracle", "hessian", "compression", "aggregation", "solve"];

    public static IReadOnlyList<PhaseOfCell> Of(BenchPlan plan, BenchCell cell, MachineBounds bounds)
    {
        var shape = plan.ShapeOf(cell.Dataset);
        var work = WorkOf(shape, cell.Compressor);
        var json = cell.Median.Json;
        double rounds = cell.Median.RoundsOrOne;
        PhaseWork[] works = [work.Oracle, work.Hessian, work.Compression, work.Aggregation, work.Solve];
        return Phases.Select((name, i) =>
        {
            double seconds = (double)json["phases"]![name]!;
            return new PhaseOfCell(name, seconds, Roofline.Fraction(works[i], seconds / rounds, bounds, clientSide: i < 3));
        }).ToList();
    }

    /// <summary>The phase with the most CPU seconds.</summary>
    public static PhaseOfCell Dominant(IReadOnlyList<PhaseOfCell> phases) => phases.MaxBy(p => p.CpuSeconds)!;

    public static RoundWork WorkOf(DatasetShape shape, string compressor)
    {
        if (!CompressorKindNames.TryParse(compressor, out var kind)) throw new ArgumentException($"'{compressor}' is not a compressor", nameof(compressor));
        var spec = new CompressorSpec(kind, shape.Features, 8.0, shape.Clients.Count);
        return WorkCounts.PerRound(shape.Clients, shape.Features, kind, spec.K);
    }
}
