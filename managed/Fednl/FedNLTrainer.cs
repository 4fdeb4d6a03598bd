using System.Diagnostics;
using Fednl.Algorithms;
using Fednl.Clients;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Reporting;
using Fednl.Transport;

namespace Fednl;

/// <summary>
/// Trains L2-regularised logistic regression with FedNL, FedNL-LS, FedNL-PP or gradient descent over simulated
/// clients in this process. The entry point for embedding:
/// <code>
/// var data = LibSvmReader.Read("w8a", addIntercept: true);
/// var result = FedNLTrainer.Train(data, new TrainingOptions { Clients = 142, Rounds = 1000 }, progress, token);
/// </code>
/// Cancelling the token ends the run after the current round and returns what was computed so far.
/// </summary>
public static class FedNLTrainer
{
    /// <summary>Splits <paramref name="data"/> into <see cref="TrainingOptions.Clients"/> clients (seeded) and trains.</summary>
    public static TrainingResult Train(Dataset data, TrainingOptions options, IProgress<RoundReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var clock = Stopwatch.StartNew();
        var split = ClientSplit.Split(data, options.Clients, options.Seed, options.KeepAllSamples ? SplitMode.KeepAll : SplitMode.DropRemainder);
        return Train(split.Clients, split.DroppedSamples, options, progress, cancellationToken, clock);
    }

    /// <summary>Trains on clients that are already split (each holds its own rows).</summary>
    public static TrainingResult Train(IReadOnlyList<Dataset> clients, long droppedSamples, TrainingOptions options,
        IProgress<RoundReport>? progress = null, CancellationToken cancellationToken = default) =>
        Train(clients, droppedSamples, options, progress, cancellationToken, Stopwatch.StartNew());

    private static TrainingResult Train(IReadOnlyList<Dataset> clientData, long droppedSamples, TrainingOptions options,
        IProgress<RoundReport>? progress, CancellationToken token, Stopwatch setupClock)
    {
        options.Validate();
        if (clientData.Count == 0) throw new ArgumentException("no clients to train", nameof(clientData));
        int d = clientData[0].Features;
        foreach (var c in clientData)
            if (c.Features != d)
                throw new ArgumentException($"clients disagree on the number of features ({c.Features} and {d})");

        if (options.Algorithm == Algorithm.FedNLPartialParticipation && options.ClientsPerRoundFor(clientData.Count) > clientData.Count)
            throw new ArgumentException($"clients-per-round {options.ClientsPerRound} exceeds the {clientData.Count} clients");
        CheckSize(clientData, options);
        double[]? scales = null;
        if (options.ScaleFeatures)
        {
            scales = FeatureScaling.Divisors(clientData.Select(FeatureScaling.MaxAbs).ToArray());
            clientData = clientData.Select(c => FeatureScaling.Apply(c, scales)).ToArray();
        }
        var spec = new CompressorSpec(options.Compressor, d, options.KMultiplier, clientData.Count);
        double alpha = options.Alpha ?? spec.DefaultAlpha(options.Option);
        var clients = clientData.Select((data, i) => new FedNLClient(i, data, options.Lambda, options.HessianPath)).ToArray();
        using var transport = new InProcessTransport(clients, spec, options.Seed, options.Threads);
        using var server = new FedNLServer(d, clients.Length, options.Lambda);
        var run = new TrainingRun(options, transport, server, spec, alpha, progress, token)
        {
            RowNormBound = Math.Sqrt(clientData.Max(c => c.MaxRowNormSquared())),
        };

        double stepSize = options.Algorithm == Algorithm.GradientDescent
            ? options.Alpha ?? 1.0 / SmoothnessBound(clientData, options.Lambda)
            : 0;
        Initialize(run);
        double setupSeconds = setupClock.Elapsed.TotalSeconds;
        Execute(run, stepSize);
        return ResultOf(run, clients.Length, droppedSamples, setupSeconds, stepSize, scales);
    }

    /// <summary>Refuses, before anything is allocated, a run whose d is out of range or that cannot fit in memory.</summary>
    internal static void CheckSize(IReadOnlyList<Dataset> clients, TrainingOptions options)
    {
        int d = clients[0].Features;
        MemoryEstimate.CheckFeatures(d);
        if (options.MemoryLimitBytes == long.MaxValue) return;
        long need = MemoryEstimate.TrainingBytes(clients, options);
        long limit = options.MemoryLimitBytes ?? MemoryEstimate.AvailableBytes();
        if (need <= limit) return;
        long packed = 8L * d * (d + 1) / 2;
        throw new TrainingTooLargeException(
            $"training needs up to {MemoryEstimate.Format(need)} (d = {d}: one d x d Hessian takes {MemoryEstimate.Format(packed)}; " +
            $"{clients.Count} clients, {Math.Clamp(options.Threads, 1, clients.Count)} workers) but " +
            (options.MemoryLimitBytes is null ? $"this machine has {MemoryEstimate.Format(limit)} available" : $"the limit is {MemoryEstimate.Format(limit)}"),
            need, limit);
    }

    /// <summary>The algorithm's start on every client: H_i⁰ (and FedNL-PP's g_i⁰) at x⁰; gradient descent needs none.</summary>
    internal static void Initialize(TrainingRun run)
    {
        if (run.Options.Algorithm != Algorithm.GradientDescent)
            run.Initialize(partialParticipation: run.Options.Algorithm == Algorithm.FedNLPartialParticipation);
    }

    /// <summary>Runs the rounds (from <see cref="TrainingRun.StartRound"/>) with the run's algorithm.</summary>
    internal static void Execute(TrainingRun run, double stepSize)
    {
        int collections = Collections();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        run.Clock.Start();
        try
        {
            switch (run.Options.Algorithm)
            {
                case Algorithm.FedNL: FedNL.Run(run); break;
                case Algorithm.FedNLLineSearch: FedNLLineSearch.Run(run); break;
                case Algorithm.FedNLPartialParticipation: FedNLPartialParticipation.Run(run); break;
                case Algorithm.GradientDescent: GradientDescent.Run(run, stepSize); break;
            }
        }
        finally
        {
            run.Clock.Stop();
            run.CollectionsDuringRounds = Collections() - collections;
            run.AllocatedBytesDuringRounds = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        }
    }

    private static int Collections() => GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);

    /// <summary>The run's result; with <paramref name="scales"/> the model is given in the original coordinates.</summary>
    internal static TrainingResult ResultOf(TrainingRun run, int clients, long droppedSamples, double setupSeconds, double stepSize,
        double[]? scales = null) => new()
        {
            Model = scales is null ? run.Server.Model.ToArray() : FeatureScaling.ToOriginal(run.Server.Model, scales),
            FeatureScales = scales,
            History = run.History.ToArray(),
            Options = run.Options,
            Clients = clients,
            Dimension = run.Dimension,
            Alpha = run.Options.Algorithm == Algorithm.GradientDescent ? stepSize : run.Alpha,
            K = run.Spec.K,
            SetupSeconds = setupSeconds,
            TrainSeconds = run.Clock.Elapsed.TotalSeconds,
            DroppedSamples = droppedSamples,
            Cancelled = run.Cancelled,
            Converged = run.Converged,
            StopReason = run.StopReason,
            StopMessage = run.StopMessage,
            Phases = PhaseSeconds.From(run.Transport is InProcessTransport local ? local.ClientTicks : default,
            run.Server.AggregationTicks, run.Server.SolveTicks),
            CollectionsDuringRounds = run.CollectionsDuringRounds,
            AllocatedBytesDuringRounds = run.AllocatedBytesDuringRounds,
        };

    /// <summary>L = λ + max_j ‖a_j‖² / 4 bounds the largest eigenvalue of every client's Hessian.</summary>
    private static double SmoothnessBound(IReadOnlyList<Dataset> clients, double lambda)
    {
        double max = 0;
        foreach (var c in clients) max = Math.Max(max, c.MaxRowNormSquared());
        return lambda + max / 4;
    }

    /// <summary>
    /// Share of samples whose predicted sign (aᵀx ≥ 0 → +1) matches the label. <paramref name="data"/> is read
    /// without an intercept column; features past <paramref name="rawFeatures"/> (absent from training) count as
    /// zero, and with <paramref name="intercept"/> the model's last coordinate is added as the constant term.
    /// </summary>
    public static double Accuracy(Dataset data, ReadOnlySpan<double> model, int rawFeatures, bool intercept)
    {
        if (data.Samples == 0) return double.NaN;
        int correct = 0;
        for (int j = 0; j < data.Samples; j++)
        {
            double t = intercept ? model[rawFeatures] : 0;
            for (long k = data.RowPointers[j]; k < data.RowPointers[j + 1]; k++)
            {
                int column = data.ColumnIndices[k];
                if (column < rawFeatures) t += data.Values[k] * model[column];
            }
            if ((t >= 0 ? 1.0 : -1.0) == data.Labels[j]) correct++;
        }
        return (double)correct / data.Samples;
    }
}
