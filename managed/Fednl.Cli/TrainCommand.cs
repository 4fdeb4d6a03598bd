using System.CommandLine;
using System.Diagnostics;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Reporting;

namespace Fednl.Cli;

/// <summary>`fednl train`: load (or generate) data, split it into clients, train, report.</summary>
internal static class TrainCommand
{
    private static readonly Option<FileInfo?> Data = new("--data") { Description = "LIBSVM training file (default: the built-in synthetic dataset)" };
    private static readonly Option<FileInfo?> Test = new("--test") { Description = "LIBSVM file to report test accuracy on" };
    private static readonly Option<bool> AddIntercept = new("--add-intercept") { Description = "append a constant 1.0 feature as the last column" };
    private static readonly Option<int> Clients = new("--clients") { Description = "number of clients n", DefaultValueFactory = _ => 10 };
    private static readonly Option<int> Rounds = new("--rounds") { Description = "rounds at most", DefaultValueFactory = _ => 100 };
    private static readonly Option<string> AlgorithmFlag = new("--algorithm") { Description = "fednl|fednl-ls|fednl-pp|gd", DefaultValueFactory = _ => "fednl" };
    private static readonly Option<string> Compressor = new("--compressor") { Description = CompressorKindNames.AllFlags, DefaultValueFactory = _ => "randk" };
    private static readonly Option<double> KMultiplier = new("--k-mult") { Description = "K = floor(k-mult * d)", DefaultValueFactory = _ => 8.0 };
    private static readonly Option<double> Lambda = new("--lambda") { Description = "L2 regularisation", DefaultValueFactory = _ => 1e-3 };
    private static readonly Option<int> OptionFlag = new("--option") { Description = "FedNL option 1 or 2", DefaultValueFactory = _ => 2 };
    private static readonly Option<double?> Alpha = new("--alpha") { Description = "Hessian learning rate (gd: step size); default: the theoretical choice" };
    private static readonly Option<int> ClientsPerRound = new("--clients-per-round") { Description = "FedNL-PP: clients per round", DefaultValueFactory = _ => 12 };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "seed of the split and all random draws", DefaultValueFactory = _ => 123UL };
    private static readonly Option<int> Threads = new("--threads") { Description = "worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<double> Tolerance = new("--tolerance") { Description = "stop once ||grad f|| <= EPS (0: never)", DefaultValueFactory = _ => 0.0 };
    private static readonly Option<FileInfo?> Out = new("--out") { Description = "write the per-round history as CSV" };
    private static readonly Option<bool> Json = new("--json") { Description = "print one JSON summary as the last line, nothing else" };
    private static readonly Option<string> HessianRuleFlag = new("--hessian-rule") { Description = "before (paper) | after (2024 C++ reference)", DefaultValueFactory = _ => "before" };
    private static readonly Option<string> HessianPathFlag = new("--hessian-path") { Description = "auto|sparse|dense", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string> Kernel = new("--kernel") { Description = "auto|reference|avx2", DefaultValueFactory = _ => "auto" };
    private static readonly Option<bool> KeepAll = new("--keep-all") { Description = "keep every sample (client sizes differ by at most one)" };
    private static readonly Option<bool> CheckSplit = new("--check-split") { Description = "verify the split (disjoint, complete, bit-exact) before training" };
    private static readonly Option<int> LineSearchTries = new("--line-search-tries") { Description = "FedNL-LS: step sizes tried per round", DefaultValueFactory = _ => 5 };

    public static Command Create()
    {
        var command = new Command("train", "train logistic regression with FedNL over simulated clients");
        foreach (var option in new Option[] { Data, Test, AddIntercept, Clients, Rounds, AlgorithmFlag, Compressor, KMultiplier,
                     Lambda, OptionFlag, Alpha, ClientsPerRound, Seed, Threads, Tolerance, Out, Json, HessianRuleFlag,
                     HessianPathFlag, Kernel, KeepAll, CheckSplit, LineSearchTries })
            command.Options.Add(option);
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        bool json = parse.GetValue(Json);
        var options = ReadOptions(parse);
        KernelSettings.Use(ParseKernel(parse.GetValue(Kernel)!));

        var setup = Stopwatch.StartNew();
        var dataFile = parse.GetValue(Data);
        bool intercept = parse.GetValue(AddIntercept);
        Dataset data = dataFile is null
            ? SyntheticDataset.Default(intercept)
            : LibSvmReader.Read(dataFile.FullName, intercept);
        if (options.Clients > data.Samples)
            throw new UsageException($"--clients {options.Clients} exceeds the {data.Samples} samples in {data.Name}");
        var split = ClientSplit.Split(data, options.Clients, options.Seed, options.KeepAllSamples ? SplitMode.KeepAll : SplitMode.DropRemainder);
        if (parse.GetValue(CheckSplit)) ClientSplit.Verify(data, split);
        double loadSeconds = setup.Elapsed.TotalSeconds;

        if (!json)
            Console.WriteLine($"{data.Name}: {data.Samples} samples, d = {data.Features}, {options.Clients} clients of " +
                              $"{split.Clients[0].Samples}, {split.DroppedSamples} dropped; {RunSummary.AlgorithmFlag(options.Algorithm)} " +
                              $"{options.Compressor.ToFlag()}, {options.Rounds} rounds, {KernelSettings.Active} kernels");

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        TrainingResult result;
        try
        {
            result = ProgressDisplay.Run(json, options.Rounds,
                progress => FedNLTrainer.Train(split.Clients, split.DroppedSamples, options, progress, cancel.Token));
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var testFile = parse.GetValue(Test);
        if (testFile is not null)
        {
            var test = LibSvmReader.Read(testFile.FullName, addIntercept: false);
            int rawFeatures = intercept ? data.Features - 1 : data.Features;
            result = result with { TestAccuracy = FedNLTrainer.Accuracy(test, result.Model, rawFeatures, intercept) };
        }
        double setupSeconds = loadSeconds + result.SetupSeconds;
        string label = RunSummary.Label(result, data.Name);
        if (parse.GetValue(Out) is { } outFile) HistoryCsv.Write(outFile.FullName, result, label);

        if (json)
        {
            Console.WriteLine(RunSummary.ToJson(result, setupSeconds));
        }
        else
        {
            var final = result.Final;
            Console.WriteLine($"done: {final.Round} rounds, f = {final.Loss:R}, ||grad f|| = {final.GradientNorm:E3}, " +
                              $"train {result.TrainSeconds:F3} s, setup {setupSeconds:F3} s, up {final.BytesUp:N0} B, down {final.BytesDown:N0} B" +
                              (result.TestAccuracy is { } a ? $", test accuracy {a:P2}" : "") +
                              (result.Cancelled ? " (cancelled)" : ""));
        }
        return CommandRunner.Ok;
    }

    private static TrainingOptions ReadOptions(ParseResult parse)
    {
        string algorithm = parse.GetValue(AlgorithmFlag)!;
        string compressor = parse.GetValue(Compressor)!;
        if (!CompressorKindNames.TryParse(compressor, out var kind))
            throw new UsageException($"unknown compressor '{compressor}' (expected {CompressorKindNames.AllFlags})");
        int option = parse.GetValue(OptionFlag);
        if (option is not (1 or 2)) throw new UsageException($"--option must be 1 or 2, got {option}");
        var options = new TrainingOptions
        {
            Algorithm = algorithm.ToLowerInvariant() switch
            {
                "fednl" => Algorithm.FedNL,
                "fednl-ls" => Algorithm.FedNLLineSearch,
                "fednl-pp" => Algorithm.FedNLPartialParticipation,
                "gd" => Algorithm.GradientDescent,
                _ => throw new UsageException($"unknown algorithm '{algorithm}' (expected fednl|fednl-ls|fednl-pp|gd)"),
            },
            Compressor = kind,
            Clients = parse.GetValue(Clients),
            Rounds = parse.GetValue(Rounds),
            KMultiplier = parse.GetValue(KMultiplier),
            Lambda = parse.GetValue(Lambda),
            Option = (FedNLOption)option,
            Alpha = parse.GetValue(Alpha),
            ClientsPerRound = parse.GetValue(ClientsPerRound),
            Seed = parse.GetValue(Seed),
            Threads = parse.GetValue(Threads),
            Tolerance = parse.GetValue(Tolerance),
            KeepAllSamples = parse.GetValue(KeepAll),
            LineSearchMaxTries = parse.GetValue(LineSearchTries),
            HessianRule = parse.GetValue(HessianRuleFlag)!.ToLowerInvariant() switch
            {
                "before" => HessianRule.BeforeUpdate,
                "after" => HessianRule.AfterUpdate,
                var other => throw new UsageException($"unknown --hessian-rule '{other}' (expected before|after)"),
            },
            HessianPath = parse.GetValue(HessianPathFlag)!.ToLowerInvariant() switch
            {
                "auto" => HessianPath.Auto,
                "sparse" => HessianPath.Sparse,
                "dense" => HessianPath.Dense,
                var other => throw new UsageException($"unknown --hessian-path '{other}' (expected auto|sparse|dense)"),
            },
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return options;
    }

    private static KernelVariant ParseKernel(string text) => text.ToLowerInvariant() switch
    {
        "auto" => KernelVariant.Auto,
        "reference" => KernelVariant.Reference,
        "avx2" => KernelVariant.Avx2,
        _ => throw new UsageException($"unknown --kernel '{text}' (expected auto|reference|avx2)"),
    };
}
