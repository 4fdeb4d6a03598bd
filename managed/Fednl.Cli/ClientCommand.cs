using System.CommandLine;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Network;

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
    private static readonly Option<int> Dimension = new("--dimension") { Description = "d of the run, after any intercept column: a file whose largest index is lower gets zero columns up to it" };

    public static Command Create()
    {
        var command = new Command("client", "run one client of a networked FedNL run");
        foreach (var option in new Option[] { Master, Id, Data, LocalData, Clients, Seed, KeepAll, AddIntercept, Certs, Insecure,
                     RetryFor, IdleTimeout, HandshakeTimeout, HessianPathFlag, Kernel, Dimension, Engine })
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
        };

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            log($"{data.Samples} samples, d = {data.Features}; connecting to {host}:{port}");
            var end = NetworkClient.RunAsync(settings, cancel.Token).GetAwaiter().GetResult();
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
