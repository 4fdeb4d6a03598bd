using System.CommandLine;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Kernels;

namespace Fednl.Cli;

/// <summary>The training flags `fednl train` and `fednl master` share; one instance per command.</summary>
internal sealed class TrainingFlags
{
    public readonly Option<int> Clients = new("--clients") { Description = "number of clients n", DefaultValueFactory = _ => 10 };
    public readonly Option<int> Rounds = new("--rounds") { Description = "rounds at most", DefaultValueFactory = _ => 100 };
    public readonly Option<string> Algorithm = new("--algorithm") { Description = "fednl|fednl-ls|fednl-pp|gd", DefaultValueFactory = _ => "fednl" };
    public readonly Option<string> Compressor = new("--compressor") { Description = CompressorKindNames.AllFlags, DefaultValueFactory = _ => "randk" };
    public readonly Option<double> KMultiplier = new("--k-mult") { Description = "K = floor(k-mult * d)", DefaultValueFactory = _ => 8.0 };
    public readonly Option<double> Lambda = new("--lambda") { Description = "L2 regularisation", DefaultValueFactory = _ => 1e-3 };
    public readonly Option<int> Option = new("--option") { Description = "FedNL option 1 or 2", DefaultValueFactory = _ => 2 };
    public readonly Option<double?> Alpha = new("--alpha") { Description = "Hessian learning rate (gd: step size); default: the theoretical choice" };
    public readonly Option<int?> ClientsPerRound = new("--clients-per-round") { Description = "FedNL-PP: clients per round, at most --clients (default: min(12, --clients))" };
    public readonly Option<ulong> Seed = new("--seed") { Description = "seed of the split and all random draws", DefaultValueFactory = _ => 123UL };
    public readonly Option<double> Tolerance = new("--tolerance") { Description = "stop once ||grad f|| <= EPS (0: never)", DefaultValueFactory = _ => 0.0 };
    public readonly Option<FileInfo?> Out = new("--out") { Description = "write the per-round history as CSV" };
    public readonly Option<bool> Json = new("--json") { Description = "print one JSON summary as the last line, nothing else" };
    public readonly Option<string> HessianRule = new("--hessian-rule") { Description = "before (paper) | after (2024 C++ reference)", DefaultValueFactory = _ => "before" };
    public readonly Option<int> LineSearchTries = new("--line-search-tries") { Description = "FedNL-LS: step sizes tried per round at most", DefaultValueFactory = _ => TrainingOptions.DefaultLineSearchMaxTries };
    public readonly Option<string> Step = new("--step") { Description = "fednl: full (the paper) | damped (t = ln(1+b)/b, b = max||a_j|| * ||d||)", DefaultValueFactory = _ => "full" };
    public readonly Option<bool> Scale = new("--scale") { Description = "divide every feature by its largest absolute value over all clients; the model is reported in the original coordinates" };
    public readonly Option<double> DivergenceFactor = new("--divergence-factor") { Description = "stop as diverged once f > F * f(x0) (0: only on non-finite values)", DefaultValueFactory = _ => TrainingOptions.DefaultDivergenceFactor };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Clients, Rounds, Algorithm, Compressor, KMultiplier, Lambda, Option, Alpha,
                     ClientsPerRound, Seed, Tolerance, Out, Json, HessianRule, LineSearchTries, Scale, DivergenceFactor, Step })
            command.Options.Add(option);
    }

    /// <summary>The training options these flags describe (not yet validated: callers add their own, then <see cref="Validate"/>).</summary>
    public TrainingOptions Read(ParseResult parse)
    {
        string algorithm = parse.GetValue(Algorithm)!;
        string compressor = parse.GetValue(Compressor)!;
        if (!CompressorKindNames.TryParse(compressor, out var kind))
            throw new UsageException($"unknown compressor '{compressor}' (expected {CompressorKindNames.AllFlags})");
        int option = parse.GetValue(Option);
        if (option is not (1 or 2)) throw new UsageException($"--option must be 1 or 2, got {option}");
        return new TrainingOptions
        {
            Algorithm = algorithm.ToLowerInvariant() switch
            {
                "fednl" => Configuration.Algorithm.FedNL,
                "fednl-ls" => Configuration.Algorithm.FedNLLineSearch,
                "fednl-pp" => Configuration.Algorithm.FedNLPartialParticipation,
                "gd" => Configuration.Algorithm.GradientDescent,
                _ => throw new UsageException($"unknown algorithm '{algorithm}' (expected fednl|fednl-ls|fednl-pp|gd)"),
            },
            Compressor = kind,
            Clients = parse.GetValue(Clients),
            Rounds = parse.GetValue(Rounds),
            KMultiplier = parse.GetValue(KMultiplier),
            Lambda = parse.GetValue(Lambda),
            Option = (FedNLOption)option,
            Alpha = parse.GetValue(Alpha),
            ClientsPerRound = parse.GetValue(ClientsPerRound) is { } tau
                ? tau >= 1 ? tau : throw new UsageException($"--clients-per-round must be >= 1, got {tau}")
                : 0,
            Seed = parse.GetValue(Seed),
            Tolerance = parse.GetValue(Tolerance),
            LineSearchMaxTries = parse.GetValue(LineSearchTries),
            ScaleFeatures = parse.GetValue(Scale),
            StepSize = parse.GetValue(Step)!.ToLowerInvariant() switch
            {
                "full" => Configuration.StepSize.Full,
                "damped" => Configuration.StepSize.Damped,
                var other => throw new UsageException($"unknown --step '{other}' (expected full|damped)"),
            },
            DivergenceFactor = parse.GetValue(DivergenceFactor),
            HessianRule = parse.GetValue(HessianRule)!.ToLowerInvariant() switch
            {
                "before" => Configuration.HessianRule.BeforeUpdate,
                "after" => Configuration.HessianRule.AfterUpdate,
                var other => throw new UsageException($"unknown --hessian-rule '{other}' (expected before|after)"),
            },
        };
    }

    public static void Validate(TrainingOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(FlagMessage(e.Message));
        }
    }

    /// <summary>TrainingOptions' messages start with the setting's name; the CLI names the flag ("--k-mult must ...").</summary>
    internal static string FlagMessage(string message)
    {
        foreach (var (setting, flag) in SettingFlags)
            if (message.StartsWith(setting + " ", StringComparison.Ordinal)) return flag + message[setting.Length..];
        return message;
    }

    private static readonly (string Setting, string Flag)[] SettingFlags =
    [
        ("clients-per-round", "--clients-per-round"), ("clients", "--clients"), ("rounds", "--rounds"), ("k-mult", "--k-mult"),
        ("lambda", "--lambda"), ("alpha", "--alpha"), ("threads", "--threads"), ("tolerance", "--tolerance"),
        ("line-search tries", "--line-search-tries"), ("memory limit", "--memory-limit"), ("option", "--option"),
        ("divergence-factor", "--divergence-factor"),
    ];

    public static Option<string> HessianPathOption() => new("--hessian-path") { Description = "auto|sparse|dense", DefaultValueFactory = _ => "auto" };

    public static Option<string> KernelOption() => new("--kernel") { Description = "auto|reference|avx2|avx512", DefaultValueFactory = _ => "auto" };

    public static HessianPath ParseHessianPath(string text) => text.ToLowerInvariant() switch
    {
        "auto" => HessianPath.Auto,
        "sparse" => HessianPath.Sparse,
        "dense" => HessianPath.Dense,
        var other => throw new UsageException($"unknown --hessian-path '{other}' (expected auto|sparse|dense)"),
    };

    public static KernelVariant ParseKernel(string text) => text.ToLowerInvariant() switch
    {
        "auto" => KernelVariant.Auto,
        "reference" => KernelVariant.Reference,
        "avx2" => KernelVariant.Avx2,
        "avx512" => KernelVariant.Avx512,
        _ => throw new UsageException($"unknown --kernel '{text}' (expected auto|reference|avx2|avx512)"),
    };
}
