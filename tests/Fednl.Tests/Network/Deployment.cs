using System.Net.Sockets;
using System.Net;
using Fednl.Algorithms;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Network;
using Fednl.Reporting;

namespace Fednl.Tests.Network;

/// <summary>
/// A master and its clients as separate processes on 127.0.0.1, on the built-in synthetic dataset (each client
/// takes its slice of the seeded split, as single-node training does). Collects every process for cleanup and
/// compares histories with the single-node simulation.
/// </summary>
internal sealed class Deployment : IDisposable
{
    private readonly List<FednlProcess> _processes = [];

    /// <param name="insecure">Plain TCP (--insecure on every process), so a <see cref="FaultProxy"/> can read the frames.</param>
    /// <param name="engine">The `--engine` of every process: framed or grpc.</param>
    public Deployment(int clients, bool insecure = false, string engine = "framed")
    {
        Clients = clients;
        Insecure = insecure;
        Engine = engine;
        CertificateAuthority.CreateDeployment(CertsDirectory, clients, ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
    }

    public bool Insecure { get; }
    public string Engine { get; }
    private string[] Security => [.. Insecure ? ["--insecure"] : new[] { "--certs", CertsDirectory }, "--engine", Engine];

    /// <summary>A fault proxy in front of the master that reads this deployment's engine (framed TCP or h2c).</summary>
    public FaultProxy Proxy(int masterPort) => new(masterPort, http2: Engine == "grpc");

    public TempFolder Folder { get; } = TestData.TempFolder();
    public int Clients { get; }
    public string CertsDirectory => Path.Combine(Folder.Path, "certs");
    public string HistoryPath => Path.Combine(Folder.Path, "history.csv");

    public FednlProcess StartMaster(string[] training, params string[] extra) => StartMaster(0, training, extra);

    public FednlProcess StartMaster(int port, string[] training, params string[] extra)
    {
        List<string> args = ["master", "--listen", $"127.0.0.1:{port}", "--clients", Clients.ToString(), .. Security,
            "--out", HistoryPath, "--json"];
        args.AddRange(training);
        args.AddRange(extra);
        // Generous waits by default: many processes share two cores, and a loaded machine must still pass.
        Default(args, "--join-timeout", "240");
        Default(args, "--handshake-timeout", "60");
        return Track(new FednlProcess("master", Folder.Path, args.ToArray()));
    }

    public FednlProcess StartClient(int port, int id, params string[] extra)
    {
        List<string> args = ["client", "--master", $"127.0.0.1:{port}", "--id", id.ToString(), "--clients", Clients.ToString(), .. Security];
        args.AddRange(extra);
        Default(args, "--retry-for", "120");
        Default(args, "--handshake-timeout", "60");
        return Track(new FednlProcess($"client {id}", Folder.Path, args.ToArray()));
    }

    // ---- private mode ----------------------------------------------------------------------------------------------

    /// <summary>The clients' shared key (created on first use, readable by its owner only).</summary>
    public string KeyPath
    {
        get
        {
            string path = Path.Combine(Folder.Path, "key.bin");
            if (!File.Exists(path)) Fednl.Network.Private.KeyFile.Create(path);
            return path;
        }
    }

    /// <summary>A private relay: the training flags, no history (it cannot read one), its JSON summary on stdout.</summary>
    public FednlProcess StartPrivateMaster(int port, string[] training, params string[] extra)
    {
        List<string> args = ["master", "--listen", $"127.0.0.1:{port}", "--clients", Clients.ToString(), .. Security, "--private", "--json"];
        args.AddRange(training);
        args.AddRange(extra);
        Default(args, "--join-timeout", "240");
        Default(args, "--handshake-timeout", "60");
        Default(args, "--round-timeout", "120");
        return Track(new FednlProcess("master", Folder.Path, args.ToArray()));
    }

    /// <summary>A private client with the shared key, writing its own copy of the history.</summary>
    public FednlProcess StartPrivateClient(int port, int id, params string[] extra) =>
        StartClient(port, id, ["--private", "--key", KeyPath, "--out", ClientHistoryPath(id), "--json", .. extra]);

    public FednlProcess[] StartPrivateClients(int port, Func<int, string[]>? extra = null) =>
        Enumerable.Range(0, Clients).Select(i => StartPrivateClient(port, i, extra?.Invoke(i) ?? [])).ToArray();

    public string ClientHistoryPath(int id) => Path.Combine(Folder.Path, $"history-{id}.csv");

    public IReadOnlyList<RoundReport> ClientHistory(int id) => HistoryCsv.Read(ClientHistoryPath(id)).History;

    private static void Default(List<string> args, string flag, string value)
    {
        if (!args.Contains(flag)) args.AddRange([flag, value]);
    }

    public FednlProcess[] StartClients(int port, Func<int, string[]>? extra = null) =>
        Enumerable.Range(0, Clients).Select(i => StartClient(port, i, extra?.Invoke(i) ?? [])).ToArray();

    public FednlProcess Track(FednlProcess process)
    {
        _processes.Add(process);
        return process;
    }

    /// <summary>All output of all processes, for failure messages.</summary>
    public string Logs() => string.Join("\n", _processes.Select(p => p.ToString()));

    public IReadOnlyList<RoundReport> History() => HistoryCsv.Read(HistoryPath).History;

    /// <summary>The single-node simulation of the same run.</summary>
    public static TrainingResult SingleNode(TrainingOptions options) =>
        FedNLTrainer.Train(SyntheticDataset.Default(false), options with { Threads = 2 });

    /// <summary>x (by digest), f, ‖∇f‖ and ‖x‖ of every round agree bit for bit.</summary>
    public static void AssertSameHistory(IReadOnlyList<RoundReport> expected, IReadOnlyList<RoundReport> actual, string context)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count), $"rounds in the history\n{context}");
        for (int k = 0; k < expected.Count; k++)
        {
            var (e, a) = (expected[k], actual[k]);
            Assert.That(a.Round, Is.EqualTo(e.Round));
            Assert.That(a.ModelDigest, Is.EqualTo(e.ModelDigest), $"round {k}: model digest");
            Assert.That(BitConverter.DoubleToInt64Bits(a.Loss), Is.EqualTo(BitConverter.DoubleToInt64Bits(e.Loss)), $"round {k}: f {a.Loss:R} vs {e.Loss:R}");
            Assert.That(BitConverter.DoubleToInt64Bits(a.GradientNorm), Is.EqualTo(BitConverter.DoubleToInt64Bits(e.GradientNorm)), $"round {k}: ||grad f||");
            Assert.That(BitConverter.DoubleToInt64Bits(a.ModelNorm), Is.EqualTo(BitConverter.DoubleToInt64Bits(e.ModelNorm)), $"round {k}: ||x||");
        }
    }

    /// <summary>A port that was free a moment ago (for runs whose master must come back on the same port).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose()
    {
        foreach (var p in _processes) p.Dispose();
        Folder.Dispose();
    }
}
