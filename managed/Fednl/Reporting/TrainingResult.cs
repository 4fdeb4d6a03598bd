using Fednl.Algorithms;
using Fednl.Configuration;

namespace Fednl.Reporting;

/// <summary>What a training run returns: the model, its history, and where the time went.</summary>
public sealed record TrainingResult
{
    public required double[] Model { get; init; }
    public required IReadOnlyList<RoundReport> History { get; init; }
    public required TrainingOptions Options { get; init; }
    public required int Clients { get; init; }
    public required int Dimension { get; init; }
    /// <summary>Hessian learning rate used (the theoretical choice unless overridden).</summary>
    public required double Alpha { get; init; }
    /// <summary>Compressor budget K (D for the dense kinds).</summary>
    public required long K { get; init; }
    /// <summary>Loading, splitting and the initial Hessians, in seconds.</summary>
    public required double SetupSeconds { get; init; }
    /// <summary>The rounds alone, in seconds.</summary>
    public required double TrainSeconds { get; init; }
    /// <summary>Samples the split left out (N mod n).</summary>
    public long DroppedSamples { get; init; }
    /// <summary>True when the caller's token stopped the run early; the model and history are what was computed.</summary>
    public bool Cancelled { get; init; }
    /// <summary>
    /// True when the run did not diverge and the final ‖∇f‖ is at most the tolerance, or at most
    /// <see cref="TrainingOptions.DefaultConvergenceBar"/> (1e-10) when no tolerance was set.
    /// </summary>
    public bool Converged { get; init; }
    /// <summary>Why the run stopped.</summary>
    public StopReason StopReason { get; init; } = StopReason.Rounds;
    /// <summary>For a diverged or stalled run: what happened, the likely cause and the remedy.</summary>
    public string? StopMessage { get; init; }
    /// <summary>With <see cref="TrainingOptions.ScaleFeatures"/>: the divisor of each feature (null otherwise).</summary>
    public double[]? FeatureScales { get; init; }
    /// <summary>Accuracy on a held-out set, when one was given.</summary>
    public double? TestAccuracy { get; init; }
    /// <summary>Where the rounds' time went.</summary>
    public PhaseSeconds Phases { get; init; } = new();
    /// <summary>Garbage collections (all generations) and bytes allocated on the managed heap during the rounds.</summary>
    public int CollectionsDuringRounds { get; init; }
    public long AllocatedBytesDuringRounds { get; init; }

    public RoundReport Final => History[^1];

    /// <summary>The stop reason as `--json` spells it.</summary>
    public static string Flag(StopReason reason) => reason.ToString().ToLowerInvariant();
    public int Rounds => Final.Round;
}

/// <summary>Why a run stopped.</summary>
public enum StopReason
{
    /// <summary>‖∇f‖ reached the tolerance.</summary>
    Tolerance,
    /// <summary>All rounds ran.</summary>
    Rounds,
    /// <summary>The caller's token (Ctrl-C) stopped it.</summary>
    Cancelled,
    /// <summary>f, ∇f or x stopped being finite, or f exceeded the divergence factor times f(x⁰).</summary>
    Diverged,
    /// <summary>FedNL-LS found no step along its direction that lowers f.</summary>
    Stalled,
    /// <summary>An error ended it (a networked run that lost a client under the fail policy, or was aborted).</summary>
    Failed,
}
