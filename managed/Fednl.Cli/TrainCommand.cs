using System.CommandLine;
using System.Diagnostics;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Reporting;

namespace Fednl.Cli;

/// <summary>`fednl train`: load (or generate) data, split it into clients, train, report.</summary>
internal static class TrainCommand
{
    private static readonly Option<FileInfo?> Data = new("--data") { Description = "LIBSVM training file (default: the built-in synthetic dataset)" };
    private static readonly Option<string?> Synthetic = new("--synthetic") { Description = "a built-in generated dataset instead of --data: dense500" };
    private static readonly Option<FileInfo?> Test = new("--test") { Description = "LIBSVM file to report test accuracy on" };
    private static readonly Option<bool> AddIntercept = new("--add-intercept") { Description = "append a constant 1.0 feature as the last column" };
    private static readonly Option<int> Threads = new("--threads") { Description = "worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<string> HessianPathFlag = TrainingFlags.HessianPathOption();
    private static readonly Option<string> Kernel = TrainingFlags.KernelOption();
    private static readonly Option<bool> KeepAll = new("--keep-all") { Description = "keep every sample (client sizes differ by at most one)" };
    private static readonly Option<bool> CheckSplit = new("--check-split") { Description = "verify the split (disjoint, complete, bit-exact) before training" };
    private static readonly Option<double?> MemoryLimit = new("--memory-limit") { Description = "refuse runs estimated to need more than GB gigabytes (default: the memory available)" };
    private static readonly Option<bool> NoMemoryCheck = new("--no-memory-check") { Description = "start even when the run's memory estimate exceeds what is available" };
    private static readonly TrainingFlags Flags = new();

    public static Command Create()
    {
        var command = new Command("train", "train logistic regression with FedNL over simulated clients");
        foreach (var option in new Option[] { Data, Synthetic, Test, AddIntercept, Threads, HessianPathFlag, Kernel, KeepAll, CheckSplit, MemoryLimit, NoMemoryCheck })
            command.Options.Add(option);
        Flags.AddTo(command);
        command.SetAction(Run);
        return command;
    }

    private static long? MemoryLimitBytes(ParseResult parse)
    {
        if (parse.GetValue(NoMemoryCheck)) return long.MaxValue;
        if (parse.GetValue(MemoryLimit) is not { } gb) return null;
        if (!(gb > 0) || gb > 1e9) throw new UsageException($"--memory-limit must be a number of gigabytes > 0, got {gb}");
        return (long)(gb * (1L << 30));
    }

    private static int Run(ParseResult parse)
    {
        bool json = parse.GetValue(Flags.Json);
        var options = Flags.Read(parse) with
        {
            Threads = parse.GetValue(Threads),
            KeepAllSamples = parse.GetValue(KeepAll),
            HessianPath = TrainingFlags.ParseHessianPath(parse.GetValue(HessianPathFlag)!),
            MemoryLimitBytes = MemoryLimitBytes(parse),
        };
        TrainingFlags.Validate(options);
        CommandRunner.CheckInputFile(parse.GetValue(Data), "--data");
        CommandRunner.CheckInputFile(parse.GetValue(Test), "--test");
        CommandRunner.CheckOutputFile(parse.GetValue(Flags.Out), "--out");
        KernelSettings.Use(TrainingFlags.ParseKernel(parse.GetValue(Kernel)!));

        var setup = Stopwatch.StartNew();
        var (split, source) = LoadAndSplit(parse, options);
        // The parsed file and the whole dataset are garbage now; collecting them here lets the clients' Hessian
        // plans, the largest allocation of the run, reuse their memory instead of growing the heap past it.
        GC.Collect();
        var testFile = parse.GetValue(Test);
        Dataset? test = testFile is null ? null : LibSvmReader.Read(testFile.FullName, addIntercept: false);
        double loadSeconds = setup.Elapsed.TotalSeconds;

        if (!json)
            Console.WriteLine($"{source.Name}: {source.Samples} samples, d = {source.Features}, {options.Clients} clients of " +
                              $"{split.Clients[0].Samples}, {split.DroppedSamples} dropped; {RunSummary.AlgorithmFlag(options.Algorithm)} " +
                              $"{options.Compressor.ToFlag()}, {options.Rounds} rounds, {KernelSettings.Active} kernels, " +
                              $"up to {MemoryEstimate.Format(MemoryEstimate.TrainingBytes(split.Clients, options))} of memory");

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

        if (test is not null)
        {
            int rawFeatures = source.Intercept ? source.Features - 1 : source.Features;
            result = result with { TestAccuracy = FedNLTrainer.Accuracy(test, result.Model, rawFeatures, source.Intercept) };
        }
        double setupSeconds = loadSeconds + result.SetupSeconds;
        string label = RunSummary.Label(result, source.Name);
        if (parse.GetValue(Flags.Out) is { } outFile) HistoryCsv.Write(outFile.FullName, result, label);

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
        return StopOutcome(result);
    }

    /// <summary>What the run reports of the data it was split from.</summary>
    private readonly record struct Source(string Name, int Samples, int Features, bool Intercept);

    /// <summary>
    /// Loads (or generates) the data and splits it into the clients. The whole dataset is needed only for the split,
    /// so it is not kept: its memory is free again before the clients' Hessian plans are built.
    /// </summary>
    private static (ClientSplitResult Split, Source Source) LoadAndSplit(ParseResult parse, TrainingOptions options)
    {
        var dataFile = parse.GetValue(Data);
        bool intercept = parse.GetValue(AddIntercept);
        string? synthetic = parse.GetValue(Synthetic);
        if (synthetic is not null && dataFile is not null) throw new UsageException("--synthetic and --data exclude each other");
        Dataset data;
        if (synthetic is not null)
        {
            var named = SyntheticDataset.Named(synthetic)
                ?? throw new UsageException($"--synthetic '{synthetic}' is not a built-in dataset (expected {SyntheticDataset.Dense500Name})");
            data = intercept ? named.WithIntercept() : named;
        }
        else
        {
            data = dataFile is null ? SyntheticDataset.Default(intercept) : LibSvmReader.Read(dataFile.FullName, intercept);
        }
        if (options.Clients > data.Samples)
            throw new UsageException($"--clients {options.Clients} exceeds the {data.Samples} samples in {data.Name}");
        var split = ClientSplit.Split(data, options.Clients, options.Seed, options.KeepAllSamples ? SplitMode.KeepAll : SplitMode.DropRemainder);
        if (parse.GetValue(CheckSplit)) ClientSplit.Verify(data, split);
        return (split, new Source(data.Name, data.Samples, data.Features, intercept));
    }

    /// <summary>Says why a run stopped early on stderr (one line); a diverged run exits with 1, its history kept.</summary>
    internal static int StopOutcome(TrainingResult result)
    {
        if (result.StopMessage is { } why) Console.Error.WriteLine($"fednl: {why}");
        return result.StopReason == StopReason.Diverged ? CommandRunner.Failed : CommandRunner.Ok;
    }
}
