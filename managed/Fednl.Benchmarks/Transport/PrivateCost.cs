using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Fednl.Compression;
using Fednl.Data;
using Fednl.Network.Wire;
using Fednl.Network;
using Fednl.Network.Private;
using Google.Protobuf;

namespace Fednl.Benchmarks.Transport;

/// <summary>
/// The cost of private mode against the normal mode on a real dataset (w8a: d = 301 with the intercept) with 142
/// clients: each run is a real `fednl master` process (normal, or `--private`, the blind relay) and one process
/// hosting all n clients through the library (<see cref="NetworkClient.RunAsync"/>, with <see cref="PrivateClientMode"/>
/// in private mode), FedNL option 2, modes interleaved per kind (normal, private, normal, ...).
///
/// <code>
/// ./build.sh bench private [--runs 3] [--rounds 20] [--clients 142] [--kinds randseqk,permk] [--data PATH]
///                          [--modes normal,private] [--tls] [--max-used-gb 18] [--fednl PATH]
/// </code>
///
/// Seconds per round: train_seconds / rounds, from the master's JSON in normal mode and from client 0's result in
/// private mode (every private client runs the server step). Bytes on the wire are exact and deterministic for
/// these compressors (no indices, fixed counts), so the steady per-round traffic is taken from one extra run of a
/// single round per mode and kind: (B(R) − B(1)) / (R − 1), which leaves out the set-up (facts, the initialisation
/// exchange with every client's full shift H_i⁰, the final evaluation). Next to it: the prediction of the framing
/// formula from the .proto sizes (see <see cref="Predict"/>). Peak RSS: the master's (VmHWM polled while it runs),
/// and the clients' process (its own VmHWM at the end, less what it held before the first client connected, over n).
/// A guard stops a run (both processes) if the machine's used memory passes --max-used-gb, and private mode is
/// skipped up front when its clients' estimated peak would not fit (<see cref="PrivateClientsPeakEstimate"/>: a
/// private client holds n shifts twice at the initialisation, so n clients on one machine need ~0.3 MB · n² on w8a,
/// about 7 GB with 142 clients).
///
/// Without --tls the runs are plain TCP (--insecure): AES-GCM is then the only cryptography of private mode, and TLS
/// would add the same per-byte cost to both modes' wire bytes (the relay's n² bytes included).
/// </summary>
internal static class PrivateCost
{
    private const ulong SplitSeed = 123; // fednl client's default --seed
    private const double KMultiplier = 8; // fednl master's default --k-mult

    public static int Run(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : "";
        var options = Options.Parse(args.Skip(1).ToArray());
        return mode switch
        {
            "private" => Coordinate(options),
            "private-clients" => HostClients(options),
            _ => throw new ArgumentException($"unknown mode '{mode}'"),
        };
    }

    internal sealed record Options
    {
        public int Runs { get; init; } = 3;
        public int Rounds { get; init; } = 20;
        public int Clients { get; init; } = 142;
        public string[] Kinds { get; init; } = ["randseqk", "permk"];
        public string[] Modes { get; init; } = ["normal", "private"];
        public string Data { get; init; } = Path.Combine(Environment.GetEnvironmentVariable("FEDNL_DATA") ?? "datasets", "w8a");
        public bool Tls { get; init; }
        public double MaxUsedGb { get; init; } = 18;
        public string Fednl { get; init; } = "";
        // the clients process
        public string Mode { get; init; } = "normal";
        public int Port { get; init; }
        public string Key { get; init; } = "";
        public string Certs { get; init; } = "";

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--tls")
                {
                    o = o with { Tls = true };
                    continue;
                }
                string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
                int Int() => int.Parse(value, CultureInfo.InvariantCulture);
                o = args[i++] switch
                {
                    "--runs" => o with { Runs = Int() },
                    "--rounds" => o with { Rounds = Int() },
                    "--clients" => o with { Clients = Int() },
                    "--kinds" => o with { Kinds = value.Split(',') },
                    "--modes" => o with { Modes = value.Split(',') },
                    "--data" => o with { Data = Path.GetFullPath(value) },
                    "--max-used-gb" => o with { MaxUsedGb = double.Parse(value, CultureInfo.InvariantCulture) },
                    "--fednl" => o with { Fednl = Path.GetFullPath(value) },
                    "--mode" => o with { Mode = value },
                    "--port" => o with { Port = Int() },
                    "--key" => o with { Key = value },
                    "--certs" => o with { Certs = value },
                    var flag => throw new ArgumentException($"unknown flag {flag}"),
                };
            }
            if (o.Rounds < 2) throw new ArgumentException("--rounds must be >= 2 (the steady traffic is B(R) - B(1) over R - 1 rounds)");
            return o;
        }
    }

    /// <summary>What the clients process prints as its last line.</summary>
    internal sealed record ClientsResult(string Mode, int Clients, double TrainSeconds, double SetupSeconds, int Rounds, long Client0Sent, long Client0Received,
        long PeakRssBytes, long BaselineRssBytes, int Failed, string? Failure);

    /// <summary>One run's figures.</summary>
    internal sealed record RunRecord(string Mode, string Kind, int Rounds, double SecondsPerRound, double SetupSeconds, long MasterReceived, long MasterSent,
        long ClientSent, long ClientReceived, long MasterPeakRss, long ClientsPeakRss, long ClientsBaselineRss, double WallSeconds, long SystemUsedPeak);

    // ---- coordinator --------------------------------------------------------------------------------------------

    private static int Coordinate(Options options)
    {
        string fednl = options.Fednl.Length > 0 ? options.Fednl : FindFednl();
        if (!File.Exists(options.Data)) throw new FileNotFoundException($"--data {options.Data}: no such file (give --data PATH or set FEDNL_DATA)");
        string work = Path.Combine(Path.GetTempPath(), "fednl-private-cost-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        string key = Path.Combine(work, "key.bin");
        KeyFile.Create(key);
        string certs = "";
        if (options.Tls)
        {
            certs = Path.Combine(work, "certs");
            CertificateAuthority.CreateDeployment(certs, options.Clients, ["127.0.0.1", "localhost"], TimeSpan.FromDays(1));
        }
        int n = options.Clients, d = 301;
        Console.WriteLine($"private cost: {options.Data}, n = {n}, {options.Rounds} rounds a run, {options.Runs} interleaved runs per kind, " +
                          $"FedNL option 2, {(options.Tls ? "mutual TLS" : "plain TCP (--insecure)")} on loopback; master: {fednl}");
        Console.WriteLine($"load average at start: {LoadAverage()}; machine memory used {UsedBytes() / 1e9:0.0} GB of {TotalBytes() / 1e9:0.0} GB (guard {options.MaxUsedGb} GB)");
        var single = new List<RunRecord>();
        var results = new List<RunRecord>();
        var modes = options.Modes;
        if (modes.Contains("private"))
        {
            long need = PrivateClientsPeakEstimate(n, d), free = (long)(options.MaxUsedGb * 1e9) - UsedBytes();
            Console.WriteLine($"private clients' estimated peak: {need / 1e9:0.0} GB (n x (2n(3D + 8d) + 10 MB)); {free / 1e9:0.0} GB free under the guard");
            if (need > free)
            {
                Console.WriteLine("  private mode skipped: its clients would not fit (give --clients fewer, or --max-used-gb more on a machine of your own)");
                modes = modes.Where(m => m != "private").ToArray();
            }
        }
        try
        {
            // one single-round run per mode and kind: the set-up's bytes, subtracted from the R-round runs' bytes
            foreach (var kind in options.Kinds)
                foreach (var mode in modes)
                {
                    var record = RunOnce(options, fednl, key, certs, mode, kind, rounds: 1);
                    single.Add(record);
                    Print("1-round", record);
                }
            foreach (var kind in options.Kinds)
                for (int run = 0; run < options.Runs; run++)
                    foreach (var mode in modes)
                    {
                        var record = RunOnce(options, fednl, key, certs, mode, kind, options.Rounds);
                        results.Add(record);
                        Print($"run {run + 1}", record);
                    }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        Console.WriteLine($"load average at end: {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine($"Per round (steady: (B({options.Rounds}) - B(1)) / {options.Rounds - 1}); s/round = train_seconds / rounds, median over runs; " +
                          "predicted = the framing formula from the .proto sizes.");
        Console.WriteLine("| compressor | mode | s/round | set-up s | master B/round (rx + tx) | predicted | per client B/round (tx + rx) | predicted | set-up B at master | master peak RSS MB | clients RSS MB/client |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var group in results.GroupBy(r => (r.Kind, r.Mode)))
        {
            var g = group.ToArray();
            var one = single.First(r => r.Kind == group.Key.Kind && r.Mode == group.Key.Mode);
            int R = options.Rounds;
            double masterRound = (Median(g.Select(r => (double)(r.MasterReceived + r.MasterSent))) - (one.MasterReceived + one.MasterSent)) / (R - 1);
            double clientRound = (Median(g.Select(r => (double)(r.ClientSent + r.ClientReceived))) - (one.ClientSent + one.ClientReceived)) / (R - 1);
            double setupBytes = one.MasterReceived + one.MasterSent - masterRound;
            var p = Predict(group.Key.Mode, group.Key.Kind, n, d);
            double perClientRss = Median(g.Select(r => (double)(r.ClientsPeakRss - r.ClientsBaselineRss) / n));
            Console.WriteLine(FormattableString.Invariant(
                $"| {group.Key.Kind} | {group.Key.Mode} | {Median(g.Select(r => r.SecondsPerRound)):0.0000} | {Median(g.Select(r => r.SetupSeconds)):0.0} | {masterRound:N0} | {p.Master:N0} | ") +
                FormattableString.Invariant($"{clientRound:N0} | {p.Client:N0} | {setupBytes:N0} | {Median(g.Select(r => r.MasterPeakRss / 1e6)):0} | {perClientRss / 1e6:0.0} |"));
        }
        Console.WriteLine();
        foreach (var kind in options.Kinds)
        {
            var p = Predict("private", kind, n, d);
            var spec = new CompressorSpec(Kind(kind), d, KMultiplier, n);
            Console.WriteLine(FormattableString.Invariant(
                $"{kind}: sealed message s = {p.Sealed:N0} B (plaintext {p.Plaintext:N0} B + {RunKey.Overhead} B nonce/tag + Sealed framing); bundle {p.Bundle:N0} B; ") +
                FormattableString.Invariant($"relay per round n·s + n·bundle = {p.Master:N0} B ~ n(n+1)·s = {(double)n * (n + 1) * p.Sealed:N0} B; ") +
                FormattableString.Invariant($"the bundle limit (n dense initial shifts: what a client's receive buffer may grow to) {Protocol.PrivateBundleLimit(spec, n):N0} B"));
        }
        return 0;
    }

    /// <summary>
    /// A private client holds, at the initialisation, the bundle of every client's shift H_i⁰ (its receive buffer) and
    /// the n decoded shifts. Shifts travel as the client's Hessian pattern and its values when that is shorter (12
    /// bytes per pattern entry); w8a's patterns hold about a quarter of the D entries, so a client holds about
    /// 2 · n · (3D + 8d) bytes plus 10 MB: measured 19 MB a client at n = 40 (the dense shifts took 50 MB).
    /// </summary>
    private static long PrivateClientsPeakEstimate(int n, int d)
    {
        long packed = (long)d * (d + 1) / 2;
        return (long)n * (2L * n * (3 * packed + 8L * d) + 10_000_000);
    }

    private static void Print(string label, RunRecord r) => Console.WriteLine(FormattableString.Invariant(
        $"  {label,-7} {r.Kind,-9} {r.Mode,-8} {r.SecondsPerRound,8:0.0000} s/round  set-up {r.SetupSeconds,6:0.0} s  master rx {r.MasterReceived,15:N0} tx {r.MasterSent,15:N0}  ") +
        FormattableString.Invariant($"client tx {r.ClientSent,12:N0} rx {r.ClientReceived,15:N0}  RSS master {r.MasterPeakRss / 1e6:0} MB clients {r.ClientsPeakRss / 1e6:0} MB (before {r.ClientsBaselineRss / 1e6:0})  ") +
        FormattableString.Invariant($"wall {r.WallSeconds:0.0} s  machine peak {r.SystemUsedPeak / 1e9:0.0} GB"));

    private static CompressorKind Kind(string name) =>
        CompressorKindNames.TryParse(name, out var kind) ? kind : throw new ArgumentException($"{name}: not a compressor");

    /// <summary>The repository's ./fednl, above this program's directory.</summary>
    private static string FindFednl()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, OperatingSystem.IsWindows() ? "fednl.exe" : "fednl");
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "build.sh"))) return candidate;
        }
        throw new FileNotFoundException("no ./fednl above the benchmark's directory: run ./build.sh first, or give --fednl PATH");
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private static RunRecord RunOnce(Options options, string fednl, string key, string certs, string mode, string kind, int rounds)
    {
        int n = options.Clients, port = FreePort();
        var masterInfo = new ProcessStartInfo(fednl) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        masterInfo.ArgumentList.Add("master");
        if (mode == "private") masterInfo.ArgumentList.Add("--private");
        foreach (var a in (string[])[
                     "--listen", $"127.0.0.1:{port}", "--clients", n.ToString(CultureInfo.InvariantCulture), "--rounds", rounds.ToString(CultureInfo.InvariantCulture),
                     "--compressor", kind, "--option", "2", "--json", "--join-timeout", "600", "--round-timeout", "600", "--handshake-timeout", "120"])
            masterInfo.ArgumentList.Add(a);
        if (options.Tls)
        {
            masterInfo.ArgumentList.Add("--certs");
            masterInfo.ArgumentList.Add(certs);
        }
        else
        {
            masterInfo.ArgumentList.Add("--insecure");
        }
        var wall = Stopwatch.StartNew();
        using var master = Process.Start(masterInfo) ?? throw new InvalidOperationException("cannot start the master");
        var masterOut = master.StandardOutput.ReadToEndAsync();
        var masterErr = master.StandardError.ReadToEndAsync();
        using var clients = StartClients(options with { Mode = mode, Kinds = [kind], Port = port, Key = key, Certs = certs });
        var clientsOut = clients.StandardOutput.ReadToEndAsync();
        long masterHwm = 0, systemPeak = 0;
        string? stopped = null;
        while (!(master.HasExited && clients.HasExited))
        {
            masterHwm = Math.Max(masterHwm, HighWaterMark(master));
            long used = UsedBytes();
            systemPeak = Math.Max(systemPeak, used);
            if (used > options.MaxUsedGb * 1e9 && stopped is null)
                stopped = $"the machine's used memory reached {used / 1e9:0.0} GB (guard {options.MaxUsedGb} GB)";
            if (wall.Elapsed > TimeSpan.FromMinutes(20) && stopped is null) stopped = "the run took over 20 minutes";
            if (stopped is not null)
            {
                if (!master.HasExited) master.Kill(entireProcessTree: true);
                if (!clients.HasExited) clients.Kill(entireProcessTree: true);
            }
            Thread.Sleep(200);
        }
        wall.Stop();
        string output = masterOut.GetAwaiter().GetResult(), errors = masterErr.GetAwaiter().GetResult(), clientsText = clientsOut.GetAwaiter().GetResult();
        if (stopped is not null) throw new InvalidOperationException($"{mode} {kind} stopped: {stopped}");
        if (master.ExitCode != 0 || clients.ExitCode != 0)
            throw new InvalidOperationException($"{mode} {kind}: master exited {master.ExitCode}, clients {clients.ExitCode}\n{Tail(errors)}\n{Tail(clientsText)}");
        var summary = JsonDocument.Parse(output.Split('\n').Last(l => l.StartsWith('{'))).RootElement;
        var hosted = JsonSerializer.Deserialize<ClientsResult>(clientsText.Split('\n').Last(l => l.StartsWith('{')))
                     ?? throw new InvalidDataException($"the clients printed no result: {Tail(clientsText)}");
        if (hosted.Failed > 0) throw new InvalidOperationException($"{mode} {kind}: {hosted.Failed} clients failed: {hosted.Failure}");
        long received = summary.GetProperty("wire_bytes_received").GetInt64(), sent = summary.GetProperty("wire_bytes_sent").GetInt64();
        if (summary.TryGetProperty("peak_rss_bytes", out var rss)) masterHwm = Math.Max(masterHwm, rss.GetInt64());
        if (mode == "private")
            return new RunRecord(mode, kind, hosted.Rounds, hosted.TrainSeconds / hosted.Rounds, hosted.SetupSeconds, received, sent,
                hosted.Client0Sent, hosted.Client0Received, masterHwm, hosted.PeakRssBytes, hosted.BaselineRssBytes, wall.Elapsed.TotalSeconds, systemPeak);
        int r = summary.GetProperty("rounds").GetInt32();
        // in normal mode a client's traffic is its link to the master: 1/n of the master's (every client sends and receives the same sizes)
        return new RunRecord(mode, kind, r, summary.GetProperty("train_seconds").GetDouble() / r, summary.GetProperty("setup_seconds").GetDouble(), received, sent,
            received / n, sent / n, masterHwm, hosted.PeakRssBytes, hosted.BaselineRssBytes, wall.Elapsed.TotalSeconds, systemPeak);
    }

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(20));

    /// <summary>Starts this program as the clients process, with the CLI's runtime settings.</summary>
    private static Process StartClients(Options o)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") info.ArgumentList.Add(typeof(PrivateCost).Assembly.Location);
        foreach (var a in (string[])[
                     "private-clients", "--mode", o.Mode, "--kinds", o.Kinds[0], "--port", o.Port.ToString(CultureInfo.InvariantCulture),
                     "--clients", o.Clients.ToString(CultureInfo.InvariantCulture), "--data", o.Data, "--key", o.Key, "--certs", o.Certs])
            info.ArgumentList.Add(a);
        // As fednl runs: workstation, non-concurrent GC, full JIT up front.
        info.Environment["DOTNET_TieredCompilation"] = "0";
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_gcConcurrent"] = "0";
        return Process.Start(info) ?? throw new InvalidOperationException("cannot start the clients");
    }

    private static long HighWaterMark(Process process)
    {
        try
        {
            return StatusKb($"/proc/{process.Id}/status", "VmHWM:") * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return 0; // it exited between the check and the read
        }
    }

    private static long StatusKb(string path, string field)
    {
        if (!File.Exists(path)) return 0;
        foreach (var line in File.ReadLines(path))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }

    private static long TotalBytes() => StatusKb("/proc/meminfo", "MemTotal:") * 1024;
    private static long UsedBytes() => (StatusKb("/proc/meminfo", "MemTotal:") - StatusKb("/proc/meminfo", "MemAvailable:")) * 1024;

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }

    // ---- the formula ---------------------------------------------------------------------------------------------

    internal readonly record struct Prediction(double Master, double Client, double Plaintext, double Sealed, double Bundle);

    /// <summary>
    /// The steady traffic of one round (one exchange: FedNL option 2 has no line search), from the .proto sizes.
    /// Normal: the master sends each client a Round (x: d doubles) and receives its Update (∇f_i: d doubles, S_i:
    /// K_i doubles, no indices). Private: client i sends one Sealed message of s_i = its Update's plaintext + 12-byte
    /// nonce + 16-byte tag + the Sealed and frame framing; the relay receives Σ s_i and sends every client the
    /// Bundle of all of them, B = Σ (s_i + 3) + a few bytes; so the relay moves Σ s_i + n·B ≈ n(n+1)·s per round,
    /// and each client sends s_i and receives B ≈ n·s.
    /// </summary>
    internal static Prediction Predict(string mode, string kind, int n, int d)
    {
        var spec = new CompressorSpec(Kind(kind), d, KMultiplier, n);
        const int header = Protocol.HeaderBytes;
        int Count(int i) => spec.Kind == CompressorKind.PermK ? (int)(spec.PackedLength / n) + (i < spec.PackedLength % n ? 1 : 0) : (int)spec.K;
        ClientMessage UpdateOf(int i) => new()
        {
            Update = new Update
            {
                Round = 10, Loss = 0.25, DifferenceNorm = 1.5, DifferenceNormDelta = 0, Gradient = ByteString.CopyFrom(new byte[8 * d]), Count = Count(i),
                Values = ByteString.CopyFrom(new byte[8 * Count(i)]),
            },
        };
        if (mode == "normal")
        {
            int round = header + new MasterMessage { Round = new Round { Index = 10, Alpha = 1, Model = ByteString.CopyFrom(new byte[8 * d]) } }.CalculateSize();
            double updates = Enumerable.Range(0, n).Sum(i => (double)(header + UpdateOf(i).CalculateSize()));
            double master = n * round + updates;
            return new Prediction(master, master / n, updates / n - header, 0, 0);
        }
        var sealedBodies = Enumerable.Range(0, n).Select(i => new Sealed
        {
            Exchange = 12, Sender = i, Round = 10, Nonce = ByteString.CopyFrom(new byte[RunKey.NonceBytes]),
            Ciphertext = ByteString.CopyFrom(new byte[UpdateOf(i).CalculateSize() + RunKey.TagBytes]),
        }).ToArray();
        double sealedFrames = sealedBodies.Sum(s => (double)(header + new ClientMessage { Sealed = s }.CalculateSize()));
        var bundle = new Bundle { Exchange = 12 };
        foreach (var s in sealedBodies) bundle.Sealed.Add(s.ToByteString());
        int bundleFrame = header + new MasterMessage { Bundle = bundle }.CalculateSize();
        double plaintext = Enumerable.Range(0, n).Average(i => (double)UpdateOf(i).CalculateSize());
        return new Prediction(sealedFrames + (double)n * bundleFrame, sealedFrames / n + bundleFrame, plaintext, sealedFrames / n, bundleFrame);
    }

    // ---- the clients process -----------------------------------------------------------------------------------

    private static int HostClients(Options options)
    {
        int n = options.Clients;
        var whole = LibSvmReader.Read(options.Data, addIntercept: true);
        var slices = Enumerable.Range(0, n).Select(i => ClientSplit.SliceFor(whole, n, SplitSeed, i, SplitMode.DropRemainder)).ToArray();
        GC.Collect();
        long baseline = StatusKb("/proc/self/status", "VmRSS:") * 1024;
        // a private client runs the whole algorithm synchronously inside RunAsync: one pool thread each, and more for the I/O
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 2 * n + 16), Math.Max(io, 2 * n + 16));
        byte[]? key = options.Mode == "private" ? KeyFile.Read(options.Key) : null;
        var log = new ConcurrentQueue<string>();
        var ends = new RunEnd?[n];
        var failures = new ConcurrentQueue<string>();
        var tasks = new Task[n];
        for (int i = 0; i < n; i++)
        {
            int id = i;
            tasks[i] = Task.Run(async () =>
            {
                using var tls = options.Certs.Length > 0 ? TlsSettings.ForClient(options.Certs, id) : null;
                var settings = new ClientSettings
                {
                    MasterHost = "127.0.0.1",
                    MasterPort = options.Port,
                    Id = id,
                    Data = slices[id],
                    SplitClients = n,
                    SplitSeed = SplitSeed,
                    DatasetSamples = whole.Samples,
                    Tls = tls,
                    RetryFor = TimeSpan.FromSeconds(120),
                    HandshakeTimeout = TimeSpan.FromSeconds(120),
                    Log = line =>
                    {
                        log.Enqueue($"client {id}: {line}");
                        while (log.Count > 200) log.TryDequeue(out _);
                    },
                    Private = key is null ? null : new PrivateClientMode(key),
                };
                try
                {
                    ends[id] = await NetworkClient.RunAsync(settings, CancellationToken.None).ConfigureAwait(false);
                    if (ends[id]!.Failed) failures.Enqueue($"client {id}: {ends[id]!.Reason}");
                }
                catch (Exception e)
                {
                    failures.Enqueue($"client {id}: {e.GetType().Name}: {e.Message}");
                }
            });
        }
        Task.WaitAll(tasks);
        if (!failures.IsEmpty)
            foreach (var line in log)
                Console.Error.WriteLine(line);
        var first = ends[0];
        var result = first?.Result;
        long peak = StatusKb("/proc/self/status", "VmHWM:") * 1024;
        Console.WriteLine(JsonSerializer.Serialize(new ClientsResult(options.Mode, n, result?.TrainSeconds ?? 0, result?.SetupSeconds ?? 0, result?.Rounds ?? 0,
            first?.BytesSent ?? 0, first?.BytesReceived ?? 0, peak, baseline, failures.Count, failures.TryPeek(out var why) ? why : null)));
        return failures.IsEmpty ? 0 : 1;
    }
}
