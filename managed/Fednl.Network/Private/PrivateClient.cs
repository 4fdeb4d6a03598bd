using System.Diagnostics;
using Fednl.Algorithms;
using Fednl.Clients;
using Fednl.Configuration;
using Fednl.Messages;
using Fednl.Network.Wire;
using Fednl.Reporting;

namespace Fednl.Network.Private;

/// <summary>
/// Private mode for `fednl client --private`: the shared key, where this client's checkpoint of the run goes, and
/// who is told the history rows. Every connection gets a fresh salt share.
/// </summary>
public sealed class PrivateClientMode(byte[] key, string? checkpointPath = null, int checkpointEvery = 0, bool resume = false,
    IProgress<RoundReport>? progress = null) : IPrivateClientMode
{
    private readonly Stopwatch _setup = Stopwatch.StartNew();
    private readonly string _platform = PrivateSession.Platform();
    private byte[] _salt = [];
    private MasterCheckpoint? _checkpoint;

    internal byte[] Key => key;
    internal string? CheckpointPath => checkpointPath;
    internal int CheckpointEvery => checkpointEvery;
    internal IProgress<RoundReport>? Progress => progress;

    public Hello Prepare(Hello hello)
    {
        _salt = PrivateSession.NewSalt();
        _checkpoint ??= resume ? MasterCheckpoint.Read(checkpointPath ?? throw new ArgumentException("--resume needs --checkpoint FILE")) : null;
        // a private client withholds its sample count and row norms from the master (the clients exchange them sealed)
        return hello with { RunId = _checkpoint?.RunId ?? hello.RunId, Samples = 0, MaxRowNormSquared = 0, PrivateMode = true, Salt = _salt, Platform = _platform };
    }

    public RunEnd Run(MasterConnection connection, Welcome welcome, ClientSettings settings, CancellationToken token)
    {
        if (_checkpoint is not null && welcome.RunId != _checkpoint.RunId)
            throw new ClientRefusedException($"this client resumes run {_checkpoint.RunId} from {checkpointPath}, the master runs {welcome.RunId}");
        return PrivateClient.Run(connection, welcome, settings, this, _salt, _platform, _checkpoint, _setup, token);
    }
}

/// <summary>
/// A client of a private run after its Welcome: takes the roster, derives the run key, and runs the whole algorithm
/// itself (the same <see cref="TrainingRun"/> and server step the normal master runs) over a
/// <see cref="PrivateTransport"/>; every client does, and all compute the same bits. Any client can therefore write
/// the history and checkpoints. A failure on any client stops the run for all: the client tells the relay why,
/// and the relay tells the others.
/// </summary>
internal static class PrivateClient
{
    /// <summary>How long a client that finished waits for the relay to confirm that every client did.</summary>
    private static readonly TimeSpan FinishTimeout = TimeSpan.FromSeconds(30);

    public static RunEnd Run(MasterConnection connection, Welcome welcome, ClientSettings settings, PrivateClientMode mode, byte[] salt,
        string platform, MasterCheckpoint? checkpoint, Stopwatch setup, CancellationToken token)
    {
        var options = PrivateSession.OptionsOf(welcome);
        var spec = welcome.Spec();
        int n = welcome.Clients, self = settings.Id;
        if (checkpoint is not null)
        {
            double checkpointAlpha = options.Alpha ?? spec.DefaultAlpha(options.Option);
            if (checkpoint.Settings != MasterCheckpoint.SettingsKey(options, checkpointAlpha) || checkpoint.States.Length != n || checkpoint.Dimension != spec.Dimension)
                throw new ProtocolException(ProtocolError.InconsistentSettings,
                    $"this client's checkpoint was written with other settings than the master's now:\n  checkpoint: {checkpoint.Settings} (n = {checkpoint.States.Length}, d = {checkpoint.Dimension})\n" +
                    $"  master:     {MasterCheckpoint.SettingsKey(options, checkpointAlpha)} (n = {n}, d = {spec.Dimension})");
        }
        connection.UseLimits(Protocol.PrivateBundleLimit(spec, n), Protocol.PrivateSealedLimit(spec));
        var roster = Receive(connection, settings.IdleTimeout, token);
        if (roster.BodyCase == MasterMessage.BodyOneofCase.Shutdown) return new RunEnd(roster.Shutdown.Failed, roster.Shutdown.Reason);
        if (roster.BodyCase != MasterMessage.BodyOneofCase.Roster)
            throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{roster.BodyCase} where the roster was expected");
        var salts = PrivateSession.CheckRoster(roster.Roster, n, self, salt, platform);
        using var runKey = RunKey.Derive(mode.Key, salts, welcome.RunId, PrivateSession.SettingsHash(welcome));
        settings.Log($"private run {welcome.RunId}: {n} clients agree on the platform ({platform}); run key derived");

        var client = new FedNLClient(self, settings.Data, options.Lambda, settings.HessianPath);
        var role = new ClientRole(client, options.Seed, options.Compressor, settings.HessianPath);
        bool continueOnLoss = welcome.Private!.ContinueOnLoss;
        using var transport = new PrivateTransport(connection, runKey, welcome.RunId, self, n, spec, role, options.Seed, continueOnLoss,
            settings.IdleTimeout, token);
        using var server = new FedNLServer(spec.Dimension, n, options.Lambda);
        double alpha = options.Alpha ?? spec.DefaultAlpha(options.Option);
        TrainingRun? current = null;
        var run = current = new TrainingRun(options, transport, server, spec, alpha, mode.Progress, CancellationToken.None,
            keepClientStates: continueOnLoss || mode.CheckpointPath is not null)
        {
            RoundStarting = (round, final) => Checkpoint(mode, settings.Log, welcome.RunId, current!, round, final),
        };
        double stepSize = 0, setupSeconds = 0;
        double[]? scales = null;
        long dropped = 0;
        try
        {
            var facts = transport.ExchangeFacts(new Hello(welcome.RunId, self, spec.Dimension, settings.Data.Samples, settings.SplitClients,
                settings.SplitSeed, settings.Data.MaxRowNormSquared(), settings.KeepAll, settings.DatasetSamples));
            dropped = DroppedSamples(facts);
            (scales, stepSize) = RunStart.ScaleAndBound(run, facts.Max(f => f.MaxRowNormSquared));
            RunStart.InitializeOrResume(run, checkpoint, settings.Log, "private run");
            setupSeconds = setup.Elapsed.TotalSeconds;
            FedNLTrainer.Execute(run, stepSize);
        }
        catch (Exception e) when (e is SealedMessageException or RelayStoppedException or ProtocolException or ClientLostException or IOException
                                      or OperationCanceledException)
        {
            string reason = e switch
            {
                RelayStoppedException stopped => $"the relay stopped the run: {stopped.Message}",
                OperationCanceledException => $"client {self} was interrupted",
                _ => e.Message,
            };
            if (e is not RelayStoppedException && e is not IOException)
                connection.TrySendShutdownAsync(failed: true, $"client {self}: {reason}", TimeSpan.FromSeconds(2)).GetAwaiter().GetResult();
            if (setupSeconds == 0) setupSeconds = setup.Elapsed.TotalSeconds;
            var partial = run.History.Count > 0 ? FedNLTrainer.ResultOf(run, n, dropped, setupSeconds, stepSize, scales) : null;
            return new RunEnd(true, reason) { Result = partial, BytesSent = transport.BytesSent, BytesReceived = transport.BytesReceived };
        }
        var result = FedNLTrainer.ResultOf(run, n, dropped, setupSeconds, stepSize, scales);
        var end = Finish(connection, self, token);
        return end with { Result = result, BytesSent = transport.BytesSent, BytesReceived = transport.BytesReceived };
    }

    /// <summary>Tells the relay this client is done and waits until it says every client is.</summary>
    private static RunEnd Finish(MasterConnection connection, int self, CancellationToken token)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
            deadline.CancelAfter(FinishTimeout);
            connection.SendAsync(new ClientMessage { Shutdown = new Shutdown { Failed = false, Reason = $"client {self} finished" } }, deadline.Token)
                .AsTask().GetAwaiter().GetResult();
            var answer = connection.ReceiveAsync(deadline.Token).AsTask().GetAwaiter().GetResult();
            return answer.BodyCase == MasterMessage.BodyOneofCase.Shutdown
                ? new RunEnd(answer.Shutdown.Failed, answer.Shutdown.Reason)
                : new RunEnd(true, $"the relay sent {answer.BodyCase} after the last round");
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ProtocolException or PeerRefusedException)
        {
            // the run itself is complete on this client; only the relay's confirmation is missing
            return new RunEnd(false, $"finished; the relay did not confirm the end ({e.Message})");
        }
    }

    private static MasterMessage Receive(MasterConnection connection, TimeSpan timeout, CancellationToken token)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        deadline.CancelAfter(timeout);
        return connection.ReceiveAsync(deadline.Token).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Samples of the shared file that no client's slice holds; 0 with local files.</summary>
    private static long DroppedSamples(Hello[] facts) =>
        facts.All(f => f.SplitClients != 0) ? facts[0].DatasetSamples - facts.Sum(f => (long)f.Samples) : 0;

    /// <summary>Top of a round: this client's checkpoint of the whole run, when due and always when the run stops.</summary>
    private static void Checkpoint(PrivateClientMode mode, Action<string> log, Guid runId, TrainingRun run, int round, bool final)
    {
        if (mode.CheckpointPath is not { } path) return;
        bool due = final || (mode.CheckpointEvery > 0 && round > run.StartRound && round % mode.CheckpointEvery == 0);
        if (!due) return;
        MasterCheckpoint.Write(path, runId, run, round);
        log($"checkpoint: round {round} written to {path}");
    }
}
