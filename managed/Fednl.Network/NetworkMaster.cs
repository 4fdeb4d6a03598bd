using System.Diagnostics;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Messages;
using Fednl.Reporting;

namespace Fednl.Network;

/// <summary>What a master run ends with: the result so far, and the reason when it stopped early.</summary>
public sealed record MasterOutcome(TrainingResult Result, string? Failure, long WireBytesSent, long WireBytesReceived, Guid RunId)
{
    /// <summary>Managed bytes the master process allocated per round once warmed up (history rows included); −1 if too few rounds.</summary>
    public double AllocatedBytesPerRound { get; init; } = -1;
}

/// <summary>
/// The master of a networked run (`fednl master`): listens, waits for all n clients, initialises them (or restores
/// them from a checkpoint), runs the same algorithm code as the single-node simulation over a
/// <see cref="NetworkTransport"/>, checkpoints every R rounds, and finally tells the clients to shut down. It holds
/// no data.
/// </summary>
public static class NetworkMaster
{
    /// <summary>
    /// Runs to completion. <paramref name="stop"/> ends the run cleanly at the next round boundary (checkpoint
    /// written); <paramref name="abort"/> cancels waits at once. <paramref name="listening"/> is told the bound
    /// endpoint. Losing a client under the fail policy returns the history so far with <see cref="MasterOutcome.Failure"/> set.
    /// </summary>
    public static MasterOutcome Run(MasterSettings settings, IProgress<RoundReport>? progress, Action<System.Net.IPEndPoint>? listening,
        CancellationToken stop, CancellationToken abort)
    {
        var options = settings.Options;
        options.Validate();
        if (settings.Resume && settings.CheckpointPath is null) throw new ArgumentException("--resume needs --checkpoint FILE");
        var setup = Stopwatch.StartNew();
        var checkpoint = settings.Resume ? MasterCheckpoint.Read(settings.CheckpointPath!) : null;
        if (checkpoint is not null && checkpoint.States.Length != options.Clients)
            throw new ArgumentException($"the checkpoint has {checkpoint.States.Length} clients, --clients is {options.Clients}");
        if (checkpoint is not null && settings.Dimension != 0 && settings.Dimension != checkpoint.Dimension)
            throw new ArgumentException($"--dimension is {settings.Dimension}, the checkpoint has d = {checkpoint.Dimension}");
        if (settings.Dimension < 0) throw new ArgumentException($"--dimension must be >= 1, got {settings.Dimension}");
        var runId = checkpoint?.RunId ?? Guid.NewGuid();

        var listener = new MasterListener(settings, runId, checkpoint?.Dimension ?? settings.Dimension, resumed: checkpoint is not null);
        try
        {
            listener.Start(() => Enumerable.Range(0, options.Clients).Select(i => new ClientLink(i)).ToArray());
            listening?.Invoke(listener.Endpoint);
            var links = listener.WaitForAllAsync(settings.JoinTimeout, abort).GetAwaiter().GetResult();
            int d = listener.Dimension;
            var spec = new CompressorSpec(options.Compressor, d, options.KMultiplier, options.Clients);
            double alpha = options.Alpha ?? spec.DefaultAlpha(options.Option);
            if (checkpoint is not null && checkpoint.Settings != MasterCheckpoint.SettingsKey(options, alpha))
                throw new ArgumentException($"the checkpoint was written with different settings:\n  checkpoint: {checkpoint.Settings}\n  now:        {MasterCheckpoint.SettingsKey(options, alpha)}");

            using var transport = new NetworkTransport(links, spec, options.Seed, settings.RoundTimeout, settings.LossPolicy, settings.Log, abort);
            listener.HandOver(transport);
            using var server = new FedNLServer(d, options.Clients, options.Lambda);
            TrainingRun? current = null;
            var allocations = new AllocationMeter();
            var run = current = new TrainingRun(options, transport, server, spec, alpha, progress, stop, keepClientStates: true)
            {
                RoundStarting = (round, final) =>
                {
                    allocations.AtRound(round - current!.StartRound, round);
                    AtRoundStart(settings, runId, current!, round, final);
                },
            };
            var (scales, stepSize) = RunStart.ScaleAndBound(run, links.Max(l => l.MaxRowNormSquared));
            string? failure = null;
            double setupSeconds;
            try
            {
                RunStart.InitializeOrResume(run, checkpoint, settings.Log, "run");
                setupSeconds = setup.Elapsed.TotalSeconds;
                FedNLTrainer.Execute(run, stepSize);
                transport.Shutdown(failed: false, "run finished");
            }
            catch (ClientLostException e)
            {
                setupSeconds = setup.Elapsed.TotalSeconds;
                failure = e.Message;
                transport.Shutdown(failed: true, $"run stopped: {e.Message}");
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                setupSeconds = setup.Elapsed.TotalSeconds;
                failure = "aborted";
                transport.Shutdown(failed: true, "run aborted by the master's operator");
            }
            var result = FedNLTrainer.ResultOf(run, options.Clients, DroppedSamples(links), setupSeconds, stepSize, scales);
            if (result.History.Count == 0 && failure is not null) throw new ClientLostException(failure);
            return new MasterOutcome(result, failure, transport.BytesSent, transport.BytesReceived, runId)
            {
                AllocatedBytesPerRound = allocations.PerRound,
            };
        }
        finally
        {
            listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Samples of the shared file that no client's slice holds (N mod n unless --keep-all); 0 with local files.</summary>
    private static long DroppedSamples(ClientLink[] links) =>
        links.All(l => l.DatasetSamples > 0) ? links[0].DatasetSamples - links.Sum(l => (long)l.Samples) : 0;

    /// <summary>Allocation rate of the round loop, measured from the third round on (after first-use set-up).</summary>
    private sealed class AllocationMeter
    {
        private long _startBytes, _lastBytes;
        private int _startRound = -1, _lastRound;

        public void AtRound(int roundsDone, int round)
        {
            long bytes = GC.GetTotalAllocatedBytes(precise: true);
            if (roundsDone == 2) (_startBytes, _startRound) = (bytes, round);
            (_lastBytes, _lastRound) = (bytes, round);
        }

        public double PerRound => _startRound >= 0 && _lastRound > _startRound
            ? (double)(_lastBytes - _startBytes) / (_lastRound - _startRound)
            : -1;
    }

    /// <summary>Top of a round: checkpoint when due, and always when the run stops.</summary>
    private static void AtRoundStart(MasterSettings settings, Guid runId, TrainingRun run, int round, bool final)
    {
        if (settings.CheckpointPath is { } path)
        {
            bool due = final || (settings.CheckpointEvery > 0 && round > run.StartRound && round % settings.CheckpointEvery == 0);
            if (due)
            {
                MasterCheckpoint.Write(path, runId, run, round);
                settings.Log($"checkpoint: round {round} written to {path}");
            }
        }
    }
}
