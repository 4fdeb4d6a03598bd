using Fednl.Algorithms;

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
    /// <summary>True when ‖∇f‖ reached the tolerance.</summary>
    public bool Converged { get; init; }
    /// <summary>Accuracy on a held-out set, when one was given.</summary>
    public double? TestAccuracy { get; init; }
    /// <summary>Where the rounds' time went.</summary>
    public PhaseSeconds Phases { get; init; } = new();
    /// <summary>Garbage collections (all generations) and bytes allocated on the managed heap during the rounds.</summary>
    public int CollectionsDuringRounds { get; init; }
    public long AllocatedBytesDuringRounds { get; init; }

    public RoundReport Final => History[^1];
    public int Rounds => Final.Round;
}
