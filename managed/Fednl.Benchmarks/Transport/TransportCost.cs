using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Fednl.Compression;
using Fednl.Network;
using Fednl.Network.Grpc;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Benchmarks.Transport;

/// <summary>
/// The network's cost per round, framed TCP against gRPC, both over mutual TLS on loopback, at w8a's sizes with 142
/// clients: the master sends each a Round (x, d doubles) and each answers an Update (the gradient, d doubles, and
/// the compressed difference: K = d values for randseqk, all D for identical). No algorithm runs: what is measured
/// is the transport alone. Each run is a fresh master process with its clients in a second process (both started
/// with the CLI's runtime settings), engines interleaved (framed, gRPC, framed, ...); per run the median over the
/// measured rounds, then the median over runs.
///
/// <code>
/// ./build.sh bench transport [--runs 5] [--rounds 200] [--warmup 20] [--clients 142] [--kinds randseqk,identical]
///                            [--engines framed,grpc,grpc/block=0] [--conn-window BYTES] [--stream-window BYTES] [--client-window BYTES]
/// </code>
/// Engines: framed (the product's framed TCP over SslStream: ClientConnection/MasterConnection carrying the .proto
/// envelopes, serialised once per round and parsed on receipt) and grpc (GrpcMasterHost / GrpcClientConnection with
/// the same messages). A gRPC engine may carry master settings after slashes, to compare them interleaved:
/// <c>grpc/block=0</c> is Kestrel's own 4 KiB buffer pool, <c>grpc/block=65536</c> 64 KiB blocks
/// (<see cref="GrpcHostOptions.BufferBlockSize"/>).
/// </summary>
internal static class TransportCost
{
    private const int Dimension = 301; // w8a with the intercept column

    public static int Run(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : "";
        var options = Options.Parse(args.Skip(1).ToArray());
        return mode switch
        {
            "transport" => Coordinate(options),
            "transport-master" => MasterAsync(options).GetAwaiter().GetResult(),
            "transport-clients" => ClientsAsync(options).GetAwaiter().GetResult(),
            _ => throw new ArgumentException($"unknown mode '{mode}'"),
        };
    }

    internal sealed record Options
    {
        public int Runs { get; init; } = 5;
        public int Rounds { get; init; } = 200;
        public int Warmup { get; init; } = 20;
        public int Clients { get; init; } = 142;
        public string[] Kinds { get; init; } = ["randseqk", "identical"];
        public string[] Engines { get; init; } = ["framed", "grpc"];
        public string Engine { get; init; } = "framed";
        public string Kind { get; init; } = "randseqk";
        public string Certs { get; init; } = "";
        public int Port { get; init; }
        public int ConnectionWindow { get; init; } = 4 << 20;
        public int StreamWindow { get; init; } = 2 << 20;
        public int ClientWindow { get; init; } = 2 << 20;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
                int Int() => int.Parse(value, CultureInfo.InvariantCulture);
                o = args[i++] switch
                {
                    "--runs" => o with { Runs = Int() },
                    "--rounds" => o with { Rounds = Int() },
                    "--warmup" => o with { Warmup = Int() },
                    "--clients" => o with { Clients = Int() },
                    "--kinds" => o with { Kinds = value.Split(',') },
                    "--engines" => o with { Engines = value.Split(',') },
                    "--engine" => o with { Engine = value },
                    "--kind" => o with { Kind = value },
                    "--certs" => o with { Certs = value },
                    "--port" => o with { Port = Int() },
                    "--conn-window" => o with { ConnectionWindow = Int() },
                    "--stream-window" => o with { StreamWindow = Int() },
                    "--client-window" => o with { ClientWindow = Int() },
                    var flag => throw new ArgumentException($"unknown flag {flag}"),
                };
            }
            return o;
        }

        public string[] Forward() =>
        [
            "--engine", Engine, "--kind", Kind, "--certs", Certs, "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--rounds", Rounds.ToString(CultureInfo.InvariantCulture), "--warmup", Warmup.ToString(CultureInfo.InvariantCulture),
            "--clients", Clients.ToString(CultureInfo.InvariantCulture), "--conn-window", ConnectionWindow.ToString(CultureInfo.InvariantCulture),
            "--stream-window", StreamWindow.ToString(CultureInfo.InvariantCulture), "--client-window", ClientWindow.ToString(CultureInfo.InvariantCulture),
        ];

        /// <summary>The engine without its settings: "grpc/block=0" is gRPC with Kestrel's own buffer pool.</summary>
        public string EngineBase => Engine.Split('/')[0];

        /// <summary>A master setting of the engine ("grpc/block=65536"), or <paramref name="fallback"/>.</summary>
        public int Setting(string name, int fallback)
        {
            foreach (var part in Engine.Split('/').Skip(1))
                if (part.Split('=') is [var key, var value] && key == name) return int.Parse(value, CultureInfo.InvariantCulture);
            return fallback;
        }

        public CompressorSpec Spec => CompressorKindNames.TryParse(Kind, out var kind)
            ? new CompressorSpec(kind, Dimension, 1)
            : throw new ArgumentException($"--kind {Kind}: not a compressor (identical, topk, toplek, randk, randseqk, natural)");
    }

    /// <summary>One run's figures, printed by the master process as one JSON line.</summary>
    internal sealed record RunResult(string Engine, string Kind, int Rounds, double MedianMs, double P90Ms, double MeanMs, double AllocatedKbPerRound,
        double MasterCpuMsPerRound, double ClientsCpuMsPerRound, int Gen0, int Gen1, int Gen2, long BytesPerRound);

    // ---- coordinator --------------------------------------------------------------------------------------------

    private static int Coordinate(Options options)
    {
        string certs = Path.Combine(Path.GetTempPath(), "fednl-transport-" + Guid.NewGuid().ToString("N"));
        CertificateAuthority.CreateDeployment(certs, options.Clients, ["127.0.0.1", "localhost"], TimeSpan.FromDays(1));
        var results = new List<RunResult>();
        Console.WriteLine($"transport cost: {options.Clients} clients, d = {Dimension}, {options.Rounds} rounds (+{options.Warmup} warm-up) a run, " +
                          $"{options.Runs} interleaved runs; gRPC windows: connection {options.ConnectionWindow}, stream {options.StreamWindow}, client {options.ClientWindow}");
        Console.WriteLine($"load average at start: {LoadAverage()}");
        try
        {
            foreach (var kind in options.Kinds)
                for (int run = 0; run < options.Runs; run++)
                    foreach (var engine in options.Engines)
                    {
                        var result = RunChild("transport-master", (options with { Engine = engine, Kind = kind, Certs = certs }).Forward());
                        results.Add(result);
                        Console.WriteLine($"  run {run + 1} {kind,-9} {engine,-12} median {result.MedianMs,7:0.000} ms  p90 {result.P90Ms,7:0.000} ms  " +
                                          $"alloc {result.AllocatedKbPerRound,9:0.0} KB  master cpu {result.MasterCpuMsPerRound,6:0.00} ms  clients cpu {result.ClientsCpuMsPerRound,6:0.00} ms  gc0 {result.Gen0}");
                    }
        }
        finally
        {
            Directory.Delete(certs, recursive: true);
        }
        Console.WriteLine($"load average at end: {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| compressor | engine | median ms/round | master CPU ms/round | clients CPU ms/round | master alloc KB/round | wire KB/round |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var group in results.GroupBy(r => (r.Kind, r.Engine)))
        {
            var g = group.ToArray();
            Console.WriteLine($"| {group.Key.Kind} | {group.Key.Engine} | {Median(g.Select(r => r.MedianMs)):0.000} | {Median(g.Select(r => r.MasterCpuMsPerRound)):0.00} | " +
                              $"{Median(g.Select(r => r.ClientsCpuMsPerRound)):0.00} | {Median(g.Select(r => r.AllocatedKbPerRound)):0.0} | {g[0].BytesPerRound / 1024.0:0.0} |");
        }
        return 0;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }

    /// <summary>Starts this program in <paramref name="mode"/> with the CLI's runtime settings.</summary>
    private static Process Start(string mode, string[] args, bool redirect)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = redirect };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") info.ArgumentList.Add(typeof(TransportCost).Assembly.Location);
        info.ArgumentList.Add(mode);
        foreach (var a in args) info.ArgumentList.Add(a);
        // As fednl runs: workstation, non-concurrent GC, full JIT up front.
        info.Environment["DOTNET_TieredCompilation"] = "0";
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_gcConcurrent"] = "0";
        return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {mode}");
    }

    private static RunResult RunChild(string mode, string[] args)
    {
        using var process = Start(mode, args, redirect: true);
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{mode} {string.Join(' ', args)} exited {process.ExitCode}: {output}");
        var line = output.Split('\n').Last(l => l.StartsWith('{'));
        return JsonSerializer.Deserialize<RunResult>(line) ?? throw new InvalidDataException($"{mode} printed no result: {output}");
    }

    // ---- sizes and payloads -------------------------------------------------------------------------------------

    private static ByteString Doubles(int count, double seed)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = seed + 1e-3 * i;
        return UnsafeByteOperations.UnsafeWrap(MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
    }

    /// <summary>A client's Update of a round: what randseqk (K values, no indices) or identical (all D values) sends.</summary>
    private static ClientMessage MakeUpdate(CompressorSpec spec, int round, ByteString gradient, ByteString values) => new()
    {
        Update = new Update { Round = round, Loss = 0.25, DifferenceNorm = 1.5, Gradient = gradient, Count = (int)spec.K, Values = values },
    };

    // ---- master -------------------------------------------------------------------------------------------------

    private static async Task<int> MasterAsync(Options options)
    {
        var spec = options.Spec;
        int n = options.Clients;
        var model = new double[Dimension];
        for (int i = 0; i < Dimension; i++) model[i] = 1.0 / (i + 1);
        var modelBytes = UnsafeByteOperations.UnsafeWrap(MemoryMarshal.AsBytes(model.AsSpan()).ToArray());
        int roundBytes = new MasterMessage { Round = new Round { Index = 1, Alpha = 1, Model = modelBytes } }.CalculateSize();
        int updateBytes = MakeUpdate(spec, 1, Doubles(Dimension, 0), Doubles((int)spec.K, 0)).CalculateSize();
        // What the master keeps of each answer (as the codec copies it out): the gradient and the values.
        var gradients = Enumerable.Range(0, n).Select(_ => new double[Dimension]).ToArray();
        var values = Enumerable.Range(0, n).Select(_ => new double[spec.K]).ToArray();
        using var tls = TlsSettings.ForMaster(options.Certs);
        var log = new List<string>();
        Func<int, ValueTask> exchange;
        Func<ValueTask> close;
        int port;
        Process clients;
        if (options.EngineBase == "grpc")
        {
            var peers = new List<GrpcPeer>();
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var host = await GrpcMasterHost.StartAsync(new GrpcHostOptions
            {
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                Tls = tls,
                Log = line => { lock (log) log.Add(line); },
                MaxDimension = Dimension,
                InitialConnectionWindowSize = options.ConnectionWindow,
                InitialStreamWindowSize = options.StreamWindow,
                HandshakeTimeout = TimeSpan.FromSeconds(120),
                BufferBlockSize = options.Setting("block", new GrpcHostOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }.BufferBlockSize),
            }, peer =>
            {
                peer.Limits.UseMasterRunLimits(spec);
                lock (peers)
                {
                    peers.Add(peer);
                    if (peers.Count == n) all.TrySetResult();
                }
                return Task.CompletedTask;
            }, CancellationToken.None);
            port = host.Endpoint.Port;
            clients = Start("transport-clients", (options with { Port = port }).Forward(), redirect: false);
            await all.Task.WaitAsync(TimeSpan.FromSeconds(300));
            var pending = new ValueTask[n];
            exchange = async round =>
            {
                var message = new MasterMessage { Round = new Round { Index = round, Alpha = 1, Model = modelBytes } };
                for (int i = 0; i < n; i++) pending[i] = GrpcExchange(peers[i], message, gradients[i], values[i]);
                for (int i = 0; i < n; i++) await pending[i].ConfigureAwait(false);
            };
            close = async () =>
            {
                foreach (var peer in peers) peer.Close();
                await host.DisposeAsync();
            };
        }
        else
        {
            if (options.Engine != "framed") throw new ArgumentException($"unknown engine '{options.Engine}'");
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start(backlog: n);
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
            clients = Start("transport-clients", (options with { Port = port }).Forward(), redirect: false);
            var connections = new ClientConnection[n];
            for (int i = 0; i < n; i++)
            {
                var tcp = await listener.AcceptTcpClientAsync();
                tcp.NoDelay = true;
                var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(tls.ServerOptions());
                connections[i] = new ClientConnection(ssl, $"client {i}");
                connections[i].UseLimits(Protocol.ClientFrameLimit(spec), Protocol.MasterFrameLimit(Dimension));
            }
            listener.Stop();
            // The round's request, serialised once for all clients as the master does.
            var frame = new byte[Protocol.BroadcastFrameBytes(Dimension)];
            var pending = new ValueTask[n];
            exchange = async round =>
            {
                var message = new MasterMessage { Round = new Round { Index = round, Alpha = 1, Model = modelBytes } };
                int length = ClientConnection.Prepare(message, frame);
                var prepared = frame.AsMemory(0, length);
                for (int i = 0; i < n; i++) pending[i] = FramedExchange(connections[i], prepared, gradients[i], values[i]);
                for (int i = 0; i < n; i++) await pending[i].ConfigureAwait(false);
            };
            close = async () =>
            {
                foreach (var c in connections) await c.DisposeAsync();
            };
        }

        for (int r = 0; r < options.Warmup; r++) await exchange(r);
        var times = new double[options.Rounds];
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        clients.Refresh();
        var clientsCpu = clients.TotalProcessorTime;
        long allocated = GC.GetTotalAllocatedBytes(true);
        for (int r = 0; r < options.Rounds; r++)
        {
            long start = Stopwatch.GetTimestamp();
            await exchange(options.Warmup + r);
            times[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        allocated = GC.GetTotalAllocatedBytes(true) - allocated;
        var masterCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        clients.Refresh();
        clientsCpu = clients.TotalProcessorTime - clientsCpu;
        gen0 = GC.CollectionCount(0) - gen0;
        gen1 = GC.CollectionCount(1) - gen1;
        gen2 = GC.CollectionCount(2) - gen2;
        // Client i's values start at 0.5 i: every id once, whatever order the connections came in.
        if (!values.Select(v => (int)(2 * v[0])).Order().SequenceEqual(Enumerable.Range(0, n)) || gradients.Any(g => g[1] != 1e-3))
            throw new InvalidDataException("the answers did not arrive intact");
        await close();
        if (!clients.WaitForExit(60_000)) clients.Kill();
        lock (log)
            foreach (var line in log) Console.Error.WriteLine(line);
        var sorted = times.Order().ToArray();
        var result = new RunResult(options.Engine, options.Kind, options.Rounds, sorted[sorted.Length / 2], sorted[(int)(0.9 * (sorted.Length - 1))], times.Average(),
            allocated / 1024.0 / options.Rounds, masterCpu.TotalMilliseconds / options.Rounds, clientsCpu.TotalMilliseconds / options.Rounds, gen0, gen1, gen2,
            (long)n * (roundBytes + updateBytes));
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask GrpcExchange(GrpcPeer peer, MasterMessage request, double[] gradient, double[] values)
    {
        await peer.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
        var raw = await peer.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
        Read(raw, gradient, values);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask FramedExchange(ClientConnection connection, ReadOnlyMemory<byte> frame, double[] gradient, double[] values)
    {
        await connection.SendPreparedAsync(frame, CancellationToken.None).ConfigureAwait(false);
        var raw = await connection.ReceiveRawAsync(CancellationToken.None).ConfigureAwait(false);
        Read(raw, gradient, values);
    }

    /// <summary>Reads an update in place, as the master does (no copy of its vectors beyond the destination).</summary>
    private static void Read(RawEnvelope raw, double[] gradient, double[] values)
    {
        var update = UpdateView.Parse(raw.Body);
        MemoryMarshal.Cast<byte, double>(update.Gradient).CopyTo(gradient);
        MemoryMarshal.Cast<byte, double>(update.Values).CopyTo(values);
    }

    // ---- clients ------------------------------------------------------------------------------------------------

    private static async Task<int> ClientsAsync(Options options)
    {
        var spec = options.Spec;
        int n = options.Clients;
        var tasks = new Task[n];
        var tls = Enumerable.Range(0, n).Select(i => TlsSettings.ForClient(options.Certs, i)).ToArray();
        // Client i's gradient starts at 0 and its values at 0.5 i (the master checks both arrived).
        var gradient = Doubles(Dimension, 0);
        for (int i = 0; i < n; i++)
        {
            int id = i;
            var values = Doubles((int)spec.K, 0.5 * id);
            tasks[i] = options.EngineBase == "grpc" ? GrpcClientAsync(options, tls[id], spec, gradient, values) : FramedClientAsync(options, tls[id], spec, gradient, values);
            if (i % 16 == 15) await Task.Delay(10); // a burst of 142 TLS handshakes would hit the backlog
        }
        await Task.WhenAll(tasks);
        foreach (var t in tls) t.Dispose();
        return 0;
    }

    private static async Task GrpcClientAsync(Options options, TlsSettings tls, CompressorSpec spec, ByteString gradient, ByteString values)
    {
        await using var connection = await GrpcClientConnection.ConnectAsync(new GrpcClientOptions
        {
            MasterHost = "127.0.0.1",
            MasterPort = options.Port,
            Tls = tls,
            MaxDimension = Dimension,
            ConnectTimeout = TimeSpan.FromSeconds(120),
            InitialStreamWindowSize = options.ClientWindow,
        }, CancellationToken.None);
        connection.Limits.UseClientRunLimits(spec);
        while (true)
        {
            MasterMessage request;
            try
            {
                request = await connection.ReceiveAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                return;
            }
            await connection.SendAsync(MakeUpdate(spec, request.Round.Index, gradient, values), CancellationToken.None);
        }
    }

    private static async Task FramedClientAsync(Options options, TlsSettings tls, CompressorSpec spec, ByteString gradient, ByteString values)
    {
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, options.Port);
        var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(tls.ClientOptions("127.0.0.1"));
        await using var connection = new MasterConnection(ssl, "master");
        connection.UseLimits(Protocol.MasterFrameLimit(Dimension), Protocol.ClientFrameLimit(spec));
        while (true)
        {
            MasterMessage request;
            try
            {
                request = await connection.ReceiveAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is EndOfStreamException or IOException)
            {
                return;
            }
            await connection.SendAsync(MakeUpdate(spec, request.Round.Index, gradient, values), CancellationToken.None);
        }
    }
}
