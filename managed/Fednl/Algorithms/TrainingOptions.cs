using Fednl.Compression;

namespace Fednl.Algorithms;

/// <summary>Which training method runs.</summary>
public enum Algorithm
{
    /// <summary>FedNL (spec section 3), option 1 or 2.</summary>
    FedNL,
    /// <summary>FedNL with backtracking line search (spec section 5), globally convergent from x⁰ = 0.</summary>
    FedNLLineSearch,
    /// <summary>FedNL with partial participation (spec section 6): τ clients per round.</summary>
    FedNLPartialParticipation,
    /// <summary>Plain gradient descent with step 1/L, the first-order baseline.</summary>
    GradientDescent,
}

/// <summary>Which Hessian estimate the server's Newton step uses.</summary>
public enum HessianRule
{
    /// <summary>Hᵏ, before this round's update: the FedNL paper's rule (default).</summary>
    BeforeUpdate,
    /// <summary>Hᵏ⁺¹, after folding in this round's compressed differences: the 2024 C++ implementation's rule.</summary>
    AfterUpdate,
}

/// <summary>Everything that defines a training run. Validate() names the first bad setting.</summary>
public sealed record TrainingOptions
{
    public Algorithm Algorithm { get; init; } = Algorithm.FedNL;
    public CompressorKind Compressor { get; init; } = CompressorKind.RandK;
    /// <summary>Number of clients n the data is split into.</summary>
    public int Clients { get; init; } = 10;
    /// <summary>Keep every sample (client sizes differ by at most one) instead of dropping N mod n.</summary>
    public bool KeepAllSamples { get; init; }
    /// <summary>Rounds (model updates) at most.</summary>
    public int Rounds { get; init; } = 100;
    /// <summary>K = ⌊KMultiplier · d⌋ for topk, toplek, randk and randseqk.</summary>
    public double KMultiplier { get; init; } = 8;
    public double Lambda { get; init; } = 1e-3;
    public FedNLOption Option { get; init; } = FedNLOption.Option2;
    /// <summary>Hessian learning rate; null uses the theoretical choice for the compressor (spec section 3).</summary>
    public double? Alpha { get; init; }
    public HessianRule HessianRule { get; init; } = HessianRule.BeforeUpdate;
    /// <summary>τ, the clients sampled per round by FedNL-PP (at most <see cref="Clients"/>); 0: min(12, clients).</summary>
    public int ClientsPerRound { get; init; }

    /// <summary>τ for <paramref name="clients"/> clients: <see cref="ClientsPerRound"/>, or min(12, clients) when it is 0.</summary>
    public int ClientsPerRoundFor(int clients) => ClientsPerRound == 0 ? Math.Min(12, clients) : ClientsPerRound;
    /// <summary>Seeds the split, every client's compressor stream and FedNL-PP's sampling.</summary>
    public ulong Seed { get; init; } = 123;
    /// <summary>Worker threads for the clients (the native kernels stay single-threaded).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>Stop once ‖∇f(x)‖ ≤ Tolerance (0: run all rounds).</summary>
    public double Tolerance { get; init; }
    /// <summary>FedNL-LS: backtracking factor γ, Armijo constant c and tries per round.</summary>
    public double LineSearchGamma { get; init; } = 0.5;
    public double LineSearchC { get; init; } = 0.49;
    public int LineSearchMaxTries { get; init; } = 5;
    /// <summary>
    /// Refuse to start when <see cref="MemoryEstimate.TrainingBytes"/> exceeds this many bytes; null: the memory
    /// available now (<see cref="MemoryEstimate.AvailableBytes"/>); <see cref="long.MaxValue"/>: never refuse.
    /// </summary>
    public long? MemoryLimitBytes { get; init; }
    /// <summary>How each client forms its Hessian: chosen from its data density, or forced.</summary>
    public HessianPath HessianPath { get; init; } = HessianPath.Auto;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (Clients < 1) throw new ArgumentException($"clients must be >= 1, got {Clients}");
        if (Rounds < 0) throw new ArgumentException($"rounds must be >= 0, got {Rounds}");
        if (!(KMultiplier > 0) || double.IsInfinity(KMultiplier)) throw new ArgumentException($"k-mult must be > 0, got {KMultiplier}");
        if (!(Lambda >= 0) || double.IsInfinity(Lambda)) throw new ArgumentException($"lambda must be >= 0, got {Lambda}");
        if (Alpha is { } a && (!(a > 0) || double.IsInfinity(a))) throw new ArgumentException($"alpha must be > 0, got {a}");
        if (ClientsPerRound < 0) throw new ArgumentException($"clients-per-round must be >= 1, got {ClientsPerRound}");
        if (Algorithm == Algorithm.FedNLPartialParticipation && ClientsPerRound > Clients)
            throw new ArgumentException($"clients-per-round {ClientsPerRound} exceeds the {Clients} clients");
        if (Threads < 1) throw new ArgumentException($"threads must be >= 1, got {Threads}");
        if (!(Tolerance >= 0)) throw new ArgumentException($"tolerance must be >= 0, got {Tolerance}");
        if (!(LineSearchGamma > 0 && LineSearchGamma < 1)) throw new ArgumentException($"line-search gamma must be in (0, 1), got {LineSearchGamma}");
        if (!(LineSearchC > 0 && LineSearchC < 1)) throw new ArgumentException($"line-search c must be in (0, 1), got {LineSearchC}");
        if (LineSearchMaxTries < 1) throw new ArgumentException($"line-search tries must be >= 1, got {LineSearchMaxTries}");
        if (MemoryLimitBytes is < 0) throw new ArgumentException($"memory limit must be >= 0, got {MemoryLimitBytes}");
        if (!Enum.IsDefined(Option)) throw new ArgumentException($"option must be 1 or 2, got {(int)Option}");
    }
}

/// <summary>How a client forms its Hessian.</summary>
public enum HessianPath
{
    /// <summary>Sparse rank-1 accumulation unless the client's data is dense enough for OpenBLAS to win.</summary>
    Auto,
    Sparse,
    Dense,
}
