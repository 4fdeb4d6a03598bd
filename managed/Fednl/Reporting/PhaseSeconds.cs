using System.Diagnostics;
using Fednl.Algorithms;

namespace Fednl.Reporting;

/// <summary>
/// Where a run's time went. The client phases are CPU seconds summed over the worker threads (so with two workers
/// they can add up to twice the wall time); on the dense path the oracle phase includes forming the Hessian.
/// Aggregation and solve are the server's wall seconds. Zero for phases a networked master cannot see.
/// </summary>
public sealed record PhaseSeconds
{
    /// <summary>Margins, f_i and ∇f_i.</summary>
    public double Oracle { get; init; }
    /// <summary>The Hessian over each client's pattern.</summary>
    public double Hessian { get; init; }
    /// <summary>M = Hessian − H_i, ‖M‖_F, S = C(M) and H_i += α S.</summary>
    public double Compression { get; init; }
    /// <summary>The server's means of f_i, g_i, l_i and its fold of the S_i into H, less what the fold overlaps with the solve.</summary>
    public double Aggregation { get; init; }
    /// <summary>The server's Cholesky solves.</summary>
    public double Solve { get; init; }

    public static PhaseSeconds From(PhaseTicks clients, long aggregationTicks, long solveTicks) => new()
    {
        Oracle = Seconds(clients.Oracle),
        Hessian = Seconds(clients.Hessian),
        Compression = Seconds(clients.Compression),
        Aggregation = Seconds(aggregationTicks),
        Solve = Seconds(solveTicks),
    };

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}
