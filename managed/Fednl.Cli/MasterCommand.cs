using System.CommandLine;
using Fednl.Compression;
using Fednl.Network;
using Fednl.Network.Private;
using Fednl.Reporting;

namespace Fednl.Cli;

/// <summary>`fednl master`: the server of a networked run; holds no data.</summary>
internal static class MasterCommand
{
    private static readonly TrainingFlags Flags = new();
    private static readonly Option<string> Listen = new("--listen") { Description = "HOST:PORT to listen on (port 0: any free port)", Required = true };
    private static readonly Option<DirectoryInfo> Certs = new("--certs") { Description = "directory with ca.pem, master.pem, master.key (fednl certs init)", DefaultValueFactory = _ => new DirectoryInfo("certs") };
    private static readonly Option<bool> Insecure = new("--insecure") { Description = "plain TCP without TLS or client authentication" };
    private static readonly Option<double> RoundTimeout = new("--round-timeout") { Description = "seconds a client may take to answer one request", DefaultValueFactory = _ => 60.0 };
    private static readonly Option<double> JoinTimeout = new("--join-timeout") { Description = "seconds to wait for all clients to join", DefaultValueFactory = _ => 300.0 };
    private static readonly Option<double> HandshakeTimeout = new("--handshake-timeout") { Description = "seconds a connecting peer has for TLS and Hello", DefaultValueFactory = _ => 10.0 };
    private static readonly Option<string> OnClientLoss = new("--on-client-loss") { Description = "fail: stop with the history so far | continue: go on without the lost client", DefaultValueFactory = _ => "fail" };
    private static readonly Option<FileInfo?> Checkpoint = new("--checkpoint") { Description = "checkpoint file (written atomically)" };
    private static readonly Option<int> CheckpointEvery = new("--checkpoint-every") { Description = "write the checkpoint every R rounds (0: only when the run stops)", DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> Resume = new("--resume") { Description = "continue from --checkpoint" };
    private static readonly Option<int> Dimension = new("--dimension") { Description = "d of the run, after any intercept column (default: what the clients report)" };
    private static readonly Option<string> Engine = NetworkFlags.EngineOption();
    private static readonly Option<bool> Private = new("--private") { Description = "private mode: relay the clients' sealed messages without the key (docs/privacy.md); the clients run the server step and write the history" };
    private static readonly Option<int> MaxDimension = new("--max-dimension") { Description = "with --engine grpc: the largest d a client may bring (default: --dimension, else 4096); sets the transport's message ceiling" };

    public static Command Create()
    {
        var command = new Command("master", "run the master of a networked FedNL run (clients connect with `fednl client`)");
        Flags.AddTo(command);
        foreach (var option in new Option[] { Listen, Certs, Insecure, RoundTimeout, JoinTimeout, HandshakeTimeout, OnClientLoss,
                     Checkpoint, CheckpointEvery, Resume, Dimension, Engine, MaxDimension, Private })
            command.Options.Add(option);
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        bool json = parse.GetValue(Flags.Json);
        var options = Flags.Read(parse);
        TrainingFlags.Validate(options);
        CommandRunner.CheckOutputFile(parse.GetValue(Flags.Out), "--out");
        CommandRunner.CheckOutputFile(parse.GetValue(Checkpoint), "--checkpoint");
        var listen = NetworkFlags.ParseListen(parse.GetValue(Listen)!);
        var policy = parse.GetValue(OnClientLoss)!.ToLowerInvariant() switch
        {
            "fail" => ClientLossPolicy.Fail,
            "continue" => ClientLossPolicy.Continue,
            var other => throw new UsageException($"unknown --on-client-loss '{other}' (expected fail|continue)"),
        };
        int every = parse.GetValue(CheckpointEvery);
        if (every < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {every}");
        var checkpoint = parse.GetValue(Checkpoint);
        if ((every > 0 || parse.GetValue(Resume)) && checkpoint is null)
            throw new UsageException("--checkpoint-every and --resume need --checkpoint FILE");
        int dimension = parse.GetValue(Dimension);
        if (dimension < 0 || (parse.GetResult(Dimension) is not null && dimension == 0))
            throw new UsageException($"--dimension must be >= 1, got {dimension}");
        int maxDimension = parse.GetValue(MaxDimension);
        bool maxGiven = parse.GetResult(MaxDimension) is not null;
        if (maxGiven && maxDimension < 1) throw new UsageException($"--max-dimension must be >= 1, got {maxDimension}");
        if (maxGiven && dimension > maxDimension) throw new UsageException($"--dimension {dimension} exceeds --max-dimension {maxDimension}");
        var engine = NetworkFlags.ParseEngine(parse.GetValue(Engine)!, maxGiven ? maxDimension : dimension > 0 ? dimension : 4096);
        if (maxGiven && engine is null) throw new UsageException("--max-dimension applies to --engine grpc (framed TCP sizes its frames from d when the clients join)");
        bool isPrivate = parse.GetValue(Private);
        if (isPrivate && engine is not null) throw new UsageException("--private runs over the framed engine only (drop --engine grpc)");
        if (isPrivate && parse.GetValue(Flags.Out) is not null)
            throw new UsageException("--out: the master of a private run cannot read the history; give --out to a client (fednl client --private --out FILE)");
        bool insecure = parse.GetValue(Insecure);
        if (insecure) NetworkFlags.WarnInsecure("master", engine);
        using var tls = insecure ? null : TlsSettings.ForMaster(parse.GetValue(Certs)!.FullName);


        var log = new Action<string>(line => Console.Error.WriteLine($"fednl master: {line}"));
        var settings = new MasterSettings
        {
            Listen = listen,
            Options = options,
            Tls = tls,
            RoundTimeout = NetworkFlags.Seconds(parse.GetValue(RoundTimeout), "--round-timeout"),
            JoinTimeout = NetworkFlags.Seconds(parse.GetValue(JoinTimeout), "--join-timeout"),
            HandshakeTimeout = NetworkFlags.Seconds(parse.GetValue(HandshakeTimeout), "--handshake-timeout"),
            LossPolicy = policy,
            CheckpointPath = checkpoint?.FullName,
            CheckpointEvery = every,
            Resume = parse.GetValue(Resume),
            Log = log,
            Dimension = dimension,
            Engine = engine,
            Private = isPrivate,
        };

        // First Ctrl-C: finish the round, checkpoint, shut the clients down. Second: stop waiting at once.
        using var stop = new CancellationTokenSource();
        using var abort = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            if (!stop.IsCancellationRequested)
            {
                log("stopping after this round (Ctrl-C again to abort at once)");
                stop.Cancel();
            }
            else abort.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        MasterOutcome? outcome = null;
        try
        {
            if (isPrivate) return RunRelay(settings, json, log, stop.Token, abort.Token);
            ProgressDisplay.Run(json, options.Rounds, progress =>
                (outcome = NetworkMaster.Run(settings, progress,
                    endpoint => log($"listening on {endpoint} ({NetworkFlags.Transport(engine, tls)}), waiting for {options.Clients} clients"),
                    stop.Token, abort.Token)).Result);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var training = outcome!.Result;
        string label = RunSummary.Label(training, "networked");
        if (parse.GetValue(Flags.Out) is { } outFile) HistoryCsv.Write(outFile.FullName, training, label);
        int rounds = Math.Max(1, training.Rounds);
        if (json)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(RunSummary.ToJson(training, training.SetupSeconds))!.AsObject();
            node["wire_bytes_sent"] = outcome.WireBytesSent;
            node["wire_bytes_received"] = outcome.WireBytesReceived;
            node["wire_bytes_per_round"] = (outcome.WireBytesSent + outcome.WireBytesReceived) / rounds;
            node["run_id"] = outcome.RunId.ToString();
            node["master_alloc_bytes_per_round"] = Math.Round(outcome.AllocatedBytesPerRound);
            if (outcome.Failure is not null) node["failure"] = outcome.Failure;
            Console.WriteLine(node.ToJsonString());
        }
        else
        {
            var final = training.Final;
            Console.WriteLine($"done: {final.Round} rounds, f = {final.Loss:R}, ||grad f|| = {final.GradientNorm:E3}, train {training.TrainSeconds:F3} s, " +
                              $"up {final.BytesUp:N0} B, down {final.BytesDown:N0} B, on the wire {outcome.WireBytesSent:N0} B sent / " +
                              $"{outcome.WireBytesReceived:N0} B received ({(outcome.WireBytesSent + outcome.WireBytesReceived) / rounds:N0} B per round)" +
                              (training.Cancelled ? " (stopped)" : ""));
        }
        if (outcome.Failure is not null)
        {
            log($"run failed: {outcome.Failure}; the history so far ({training.History.Count} rows) is kept");
            return CommandRunner.Failed;
        }
        return TrainCommand.StopOutcome(training);
    }

    /// <summary>`--private`: relay sealed messages; report what a relay may know (sizes, timings, who was lost).</summary>
    private static int RunRelay(MasterSettings settings, bool json, Action<string> log, CancellationToken stop, CancellationToken abort)
    {
        var outcome = PrivateRelay.Run(settings,
            endpoint => log($"listening on {endpoint} ({NetworkFlags.Transport(null, settings.Tls)}, private relay), waiting for {settings.Clients} clients"),
            stop, abort);
        int rounds = Math.Max(1, outcome.Rounds);
        if (json)
        {
            var node = new System.Text.Json.Nodes.JsonObject
            {
                ["mode"] = "private",
                ["run_id"] = outcome.RunId.ToString(),
                ["clients"] = settings.Clients,
                ["dimension"] = outcome.Dimension,
                ["rounds"] = outcome.Rounds,
                ["exchanges"] = outcome.Exchanges,
                ["seconds"] = Math.Round(outcome.Seconds, 6),
                ["wire_bytes_received"] = outcome.BytesReceived,
                ["wire_bytes_sent"] = outcome.BytesSent,
                ["wire_bytes_per_round"] = (outcome.BytesReceived + outcome.BytesSent) / rounds,
                ["lost_clients"] = new System.Text.Json.Nodes.JsonArray(outcome.Lost.Select(i => (System.Text.Json.Nodes.JsonNode)i).ToArray()),
            };
            if (outcome.Failure is not null) node["failure"] = outcome.Failure;
            Console.WriteLine(node.ToJsonString());
        }
        else
        {
            Console.WriteLine($"relayed {outcome.Exchanges:N0} exchanges over {outcome.Rounds} rounds in {outcome.Seconds:F3} s: " +
                              $"{outcome.BytesReceived:N0} B received, {outcome.BytesSent:N0} B sent ({(outcome.BytesReceived + outcome.BytesSent) / rounds:N0} B per round)" +
                              (outcome.Lost.Count > 0 ? $"; lost clients {string.Join(", ", outcome.Lost)}" : ""));
        }
        if (outcome.Failure is not null)
        {
            log($"run failed: {outcome.Failure}");
            return CommandRunner.Failed;
        }
        return CommandRunner.Ok;
    }
}
