using Fednl.Compression;

namespace Fednl.Configuration;

/// <summary>Which training method runs.</summary>
public enum Algorithm
{
    /// <summary>FedNL (spec section 3), option 1 or 2.</summary>
    FedNL,
    /// <summary>
    /// FedNL with backtracking line search (spec section 5). With option 1 the direction −(Hᵏ + λI)⁻¹g is a descent
    /// direction and the Armijo search makes it globally convergent from x⁰ = 0; option 2 damps it by l as FedNL does.
    /// </summary>
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
    /// <summary>
    /// FedNL-LS: backtracking factor γ, Armijo constant c and the cap on tries per round. The cap is generous
    /// (t down to γ⁴⁹): a round that reaches it says so in its history row.
    /// </summary>
    public double LineSearchGamma { get; init; } = 0.5;
    public double LineSearchC { get; init; } = 0.49;
    public int LineSearchMaxTries { get; init; } = DefaultLineSearchMaxTries;
    public const int DefaultLineSearchMaxTries = 50;
    /// <summary>
    /// The run stops as diverged when f, ∇f or x is not finite, or f exceeds DivergenceFactor · f(x⁰) (f(x⁰) = ln 2
    /// from x⁰ = 0). 0 turns the f test off; non-finite values always stop the run. The default is large because
    /// FedNL can recover from wild excursions: option 1 with randk on w8a reaches f ≈ 2·10⁶ · f(x⁰) and then converges.
    /// </summary>
    public double DivergenceFactor { get; init; } = DefaultDivergenceFactor;
    public const double DefaultDivergenceFactor = 1e8;
    /// <summary>
    /// Divide every feature by its largest absolute value over all clients before training (one extra aggregate);
    /// the model is reported in the original coordinates. λ then penalises the scaled coefficients.
    /// </summary>
    public bool ScaleFeatures { get; init; }
    /// <summary>FedNL: full steps (the paper) or the damped step t = ln(1 + β)/β (<see cref="Configuration.StepSize.Damped"/>).</summary>
    public StepSize StepSize { get; init; } = StepSize.Full;
    /// <summary>What <see cref="Reporting.TrainingResult.Converged"/> compares ‖∇f‖ with when no tolerance is set.</summary>
    public const double DefaultConvergenceBar = 1e-10;
    /// <summary>
    /// Refuse to start when the training estimate (Algorithms.MemoryEstimate.TrainingBytes) exceeds this many bytes; null: the memory
    /// available now (MemoryEstimate.AvailableBytes); <see cref="long.MaxValue"/>: never refuse.
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
        if (!(DivergenceFactor >= 0) || double.IsInfinity(DivergenceFactor)) throw new ArgumentException($"divergence-factor must be >= 0, got {DivergenceFactor}");
        if (LineSearchMaxTries < 1) throw new ArgumentException($"line-search tries must be >= 1, got {LineSearchMaxTries}");
        if (!Enum.IsDefined(StepSize)) throw new ArgumentException($"unknown step size {StepSize}");
        if (StepSize == StepSize.Damped && Algorithm != Algorithm.FedNL)
            throw new ArgumentException("the damped step is for --algorithm fednl (FedNL-LS chooses its step by line search)");
        if (MemoryLimitBytes is < 0) throw new ArgumentException($"memory limit must be >= 0, got {MemoryLimitBytes}");
        if (!Enum.IsDefined(Option)) throw new ArgumentException($"option must be 1 or 2, got {(int)Option}");
    }
}

/// <summary>The step size plain FedNL takes along its direction −(Hᵏ + sI)⁻¹g.</summary>
public enum StepSize
{
    /// <summary>t = 1: the paper's FedNL, fast near the optimum, may diverge from far away.</summary>
    Full,
    /// <summary>
    /// The damped Newton step for generalized self-concordant functions (Sun and Tran-Dinh, 2019; ν = 2):
    /// t = ln(1 + β) / β with β = M‖d‖, M = max_j ‖a_j‖ (the logistic loss satisfies |φ‴| ≤ φ″, so f is
    /// self-concordant of this kind with constant M). The server has M already (gradient descent's 1/L uses it).
    /// </summary>
    Damped,
}

/// <summary>How a client forms its Hessian.</summary>
public enum HessianPath
{
    /// <summary>Sparse rank-1 accumulation unless the client's data is dense enough for OpenBLAS to win.</summary>
    Auto,
    Sparse,
    Dense,
}
