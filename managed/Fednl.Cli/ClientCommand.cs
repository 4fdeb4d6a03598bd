using System.CommandLine;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Network;
using Fednl.Network.Private;
using Fednl.Reporting;

namespace Fednl.Cli;

/// <summary>`fednl client`: one client of a networked run, on its slice of a shared file or on its own file.</summary>
internal static class ClientCommand
{
    private static readonly Option<string> Master = new("--master") { Description = "HOST:PORT of the master", Required = true };
    private static readonly Option<int> Id = new("--id") { Description = "this client's id in [0, n)", Required = true };
    private static readonly Option<FileInfo?> Data = new("--data") { Description = "shared LIBSVM file; this client trains on its slice of the seeded split (default: the built-in synthetic dataset)" };
    private static readonly Option<FileInfo?> LocalData = new("--local-data") { Description = "this client's own LIBSVM file (data never leaves the client)" };
    private static readonly Option<int> Clients = new("--clients") { Description = "n of the split (with --data)", DefaultValueFactory = _ => 10 };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "seed of the split (with --data)", DefaultValueFactory = _ => 123UL };
    private static readonly Option<bool> KeepAll = new("--keep-all") { Description = "the split keeps every sample (as `fednl train --keep-all`)" };
    private static readonly Option<bool> AddIntercept = new("--add-intercept") { Description = "append a constant 1.0 feature as the last column" };
    private static readonly Option<DirectoryInfo> Certs = new("--certs") { Description = "directory with ca.pem, client-I.pem, client-I.key (fednl certs init)", DefaultValueFactory = _ => new DirectoryInfo("certs") };
    private static readonly Option<bool> Insecure = new("--insecure") { Description = "plain TCP without TLS" };
    private static readonly Option<double> RetryFor = new("--retry-for") { Description = "seconds to keep trying to reach the master", DefaultValueFactory = _ => 60.0 };
    private static readonly Option<double> IdleTimeout = new("--idle-timeout") { Description = "seconds of silence from the master before reconnecting", DefaultValueFactory = _ => 600.0 };
    private static readonly Option<string> HessianPathFlag = TrainingFlags.HessianPathOption();
    private static readonly Option<string> Kernel = TrainingFlags.KernelOption();
    private static readonly Option<double> HandshakeTimeout = new("--handshake-timeout") { Description = "seconds for connecting, TLS and the master's Welcome", DefaultValueFactory = _ => 10.0 };
    private static readonly Option<string> Engine = NetworkFlags.EngineOption();
    private static readonly Option<bool> Private = new("--private") { Description = "private mode: seal every message with the clients' shared key; the master only relays (docs/privacy.md)" };
    private static readonly Option<FileInfo?> Key = new("--key") { Description = "private mode: the clients' shared key file (fednl keys init)" };
    private static readonly Option<FileInfo?> Out = new("--out") { Description = "private mode: write the per-round history as CSV (every private client holds it)" };
    private static readonly Option<bool> Json = new("--json") { Description = "private mode: print one JSON summary of the run as the last line" };
    private static readonly Option<FileInfo?> Checkpoint = new("--checkpoint") { Description = "private mode: this client's checkpoint of the whole run (written atomically)" };
    private static readonly Option<int> CheckpointEvery = new("--checkpoint-every") { Description = "private mode: write the checkpoint every R rounds (0: only when the run stops)", DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> Resume = new("--resume") { Description = "private mode: continue from --checkpoint (every client, and the master with its own --resume)" };
    private static readonly Option<int> Dimension = new("--dimension") { Description = "d of the run, after any intercept column: a file whose largest index is lower gets zero columns up to it" };

    public static Command Create()
    {
        var command = new Command("client", "run one client of a networked FedNL run");
        foreach (var option in new Option[] { Master, Id, Data, LocalData, Clients, Seed, KeepAll, AddIntercept, Certs, Insecure,
                     RetryFor, IdleTimeout, HandshakeTimeout, HessianPathFlag, Kernel, Dimension, Engine, Private, Key, Out, Json, Checkpoint,
                     CheckpointEvery, Resume })
            command.Options.Add(option);
        command.SetAction(Run);
        return command;
    }

    /// <summary>A LIBSVM file with at least <paramref name="features"/> columns; more is an error naming the flag.</summary>
    private static Dataset Read(string path, bool intercept, int features)
    {
        var data = LibSvmReader.Read(path, intercept, features);
        int columns = data.Features - (intercept ? 1 : 0);
        if (features > 0 && columns > features)
            throw new UsageException($"--dimension {features + (intercept ? 1 : 0)}: {path} has features up to index {columns}");
        return data;
    }

    /// <summary>A private client's end: the history (kept when the run failed), the summary, and the exit code.</summary>
    private static int Report(RunEnd end, FileInfo? outFile, bool json, int id, Action<string> log)
    {
        if (end.Result is { } result)
        {
            if (outFile is not null) HistoryCsv.Write(outFile.FullName, result, RunSummary.Label(result, "private"));
            if (json)
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(RunSummary.ToJson(result, result.SetupSeconds))!.AsObject();
                node["mode"] = "private";
                node["client"] = id;
                node["sealed_bytes_sent"] = end.BytesSent;
                node["sealed_bytes_received"] = end.BytesReceived;
                if (end.Failed) node["failure"] = end.Reason;
                Console.WriteLine(node.ToJsonString());
            }
            else
            {
                var final = result.Final;
                Console.WriteLine($"done: {final.Round} rounds, f = {final.Loss:R}, ||grad f|| = {final.GradientNorm:E3}, train {result.TrainSeconds:F3} s, " +
                                  $"sealed {end.BytesSent:N0} B sent / {end.BytesReceived:N0} B received" + (end.Failed ? " (stopped)" : ""));
            }
        }
        if (end.Failed)
        {
            log($"the private run failed: {end.Reason}" + (end.Result is { } r ? $"; the history so far ({r.History.Count} rows) is kept" : ""));
            return CommandRunner.Failed;
        }
        log($"the private run ended: {end.Reason}");
        return end.Result is { } done ? TrainCommand.StopOutcome(done) : CommandRunner.Ok;
    }

    private static int Run(ParseResult parse)
    {
        var (host, port) = NetworkFlags.ParseHostPort(parse.GetValue(Master)!, "--master");
        int id = parse.GetValue(Id);
        if (id < 0) throw new UsageException($"--id must be >= 0, got {id}");
        var shared = parse.GetValue(Data);
        var local = parse.GetValue(LocalData);
        if (shared is not null && local is not null) throw new UsageException("give either --data (a shared file to slice) or --local-data, not both");
        bool intercept = parse.GetValue(AddIntercept);
        int clients = parse.GetValue(Clients);
        ulong seed = parse.GetValue(Seed);
        KernelSettings.Use(TrainingFlags.ParseKernel(parse.GetValue(Kernel)!));
        var log = new Action<string>(line => Console.Error.WriteLine($"fednl client {id}: {line}"));

        int dimension = parse.GetValue(Dimension);
        if (dimension < 0 || (parse.GetResult(Dimension) is not null && dimension <= (intercept ? 1 : 0)))
            throw new UsageException($"--dimension must be >= {(intercept ? 2 : 1)}{(intercept ? " with --add-intercept" : "")}, got {dimension}");
        // the file's own columns; the intercept, when added, is column d
        int fileFeatures = dimension == 0 ? 0 : dimension - (intercept ? 1 : 0);

        Dataset data;
        int splitClients = 0;
        long datasetSamples = 0;
        bool keepAll = parse.GetValue(KeepAll);
        if (local is not null)
        {
            data = Read(local.FullName, intercept, fileFeatures);
        }
        else
        {
            if (clients < 1) throw new UsageException($"--clients must be >= 1, got {clients}");
            if (id >= clients) throw new UsageException($"--id {id} is outside [0, {clients})");
            var whole = shared is null ? SyntheticDataset.Default(intercept) : Read(shared.FullName, intercept, fileFeatures);
            if (clients > whole.Samples) throw new UsageException($"--clients {clients} exceeds the {whole.Samples} samples in {whole.Name}");
            data = ClientSplit.SliceFor(whole, clients, seed, id, keepAll ? SplitMode.KeepAll : SplitMode.DropRemainder);
            splitClients = clients;
            datasetSamples = whole.Samples;
        }
        if (dimension != 0 && data.Features != dimension)
            throw new UsageException($"--dimension {dimension}: the data has d = {data.Features}");
        var engine = NetworkFlags.ParseEngine(parse.GetValue(Engine)!, data.Features);
        bool isPrivate = parse.GetValue(Private);
        var keyFile = parse.GetValue(Key);
        var outFile = parse.GetValue(Out);
        var checkpoint = parse.GetValue(Checkpoint);
        int every = parse.GetValue(CheckpointEvery);
        bool resume = parse.GetValue(Resume), json = parse.GetValue(Json);
        if (!isPrivate && (keyFile is not null || outFile is not null || json || checkpoint is not null || every != 0 || resume))
            throw new UsageException("--key, --out, --json, --checkpoint, --checkpoint-every and --resume are for private mode (--private); a normal client's history is the master's");
        if (isPrivate && keyFile is null) throw new UsageException("--private needs --key FILE (the clients' shared key: fednl keys init --out FILE)");
        if (isPrivate && engine is not null) throw new UsageException("--private runs over the framed engine only (drop --engine grpc)");
        if (every < 0) throw new UsageException($"--checkpoint-every must be >= 0, got {every}");
        if ((every > 0 || resume) && checkpoint is null) throw new UsageException("--checkpoint-every and --resume need --checkpoint FILE");
        CommandRunner.CheckOutputFile(outFile, "--out");
        CommandRunner.CheckOutputFile(checkpoint, "--checkpoint");
        var privateMode = keyFile is null ? null : new PrivateClientMode(KeyFile.Read(keyFile.FullName), checkpoint?.FullName, every, resume);
        bool insecure = parse.GetValue(Insecure);
        if (insecure) NetworkFlags.WarnInsecure($"client {id}", engine);
        using var tls = insecure ? null : TlsSettings.ForClient(parse.GetValue(Certs)!.FullName, id);
        var settings = new ClientSettings
        {
            MasterHost = host,
            MasterPort = port,
            Id = id,
            Data = data,
            SplitClients = splitClients,
            SplitSeed = seed,
            KeepAll = keepAll,
            DatasetSamples = datasetSamples,
            HandshakeTimeout = NetworkFlags.Seconds(parse.GetValue(HandshakeTimeout), "--handshake-timeout"),
            Tls = tls,
            RetryFor = NetworkFlags.Seconds(parse.GetValue(RetryFor), "--retry-for"),
            IdleTimeout = NetworkFlags.Seconds(parse.GetValue(IdleTimeout), "--idle-timeout"),
            HessianPath = TrainingFlags.ParseHessianPath(parse.GetValue(HessianPathFlag)!),
            Engine = engine,
            Log = log,
            Private = privateMode,
        };

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            log($"{data.Samples} samples, d = {data.Features}; connecting to {host}:{port}");
            var end = NetworkClient.RunAsync(settings, cancel.Token).GetAwaiter().GetResult();
            if (isPrivate) return Report(end, outFile, json, id, log);
            if (end.Failed)
            {
                log($"the master stopped the run on a failure: {end.Reason}");
                return CommandRunner.Failed;
            }
            log($"master ended the run: {end.Reason}");
            return CommandRunner.Ok;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            log("interrupted");
            return CommandRunner.Failed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
