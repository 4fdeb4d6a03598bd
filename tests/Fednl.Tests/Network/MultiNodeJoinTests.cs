using System.Buffers.Binary;
using System.Net.Sockets;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Network.Wire;
using Fednl.Network;

namespace Fednl.Tests.Network;

/// <summary>
/// The join phase: a client that leaves the lobby frees its id, no single Hello fixes d for the run, and d can be
/// stated for clients on their own files.
/// </summary>
[NonParallelizable]
[Category("MultiNode")]
public sealed class MultiNodeJoinTests
{
    private const int Clients = MultiNodeFaultTests.Clients;

    /// <summary>Says Hello as client <paramref name="id"/>, reads the Welcome, and hangs up.</summary>
    private static void JoinAndLeave(int port, int id, int features)
    {
        using var tcp = new TcpClient();
        tcp.Connect("127.0.0.1", port);
        var stream = tcp.GetStream();
        stream.Write(MultiNodeFaultTests.HelloFrame(id, features: features));
        stream.ReadTimeout = 30_000;
        var header = new byte[Protocol.HeaderBytes];
        stream.ReadExactly(header);
        Assert.That(header[5], Is.EqualTo((byte)MasterMessage.BodyOneofCase.Welcome), "a valid Hello is welcomed");
        stream.ReadExactly(new byte[BinaryPrimitives.ReadUInt32LittleEndian(header)]);
    }

    [Test]
    public void A_client_that_leaves_before_the_run_starts_frees_its_id_and_d()
    {
        using var deployment = new Deployment(Clients, insecure: true);
        var (args, options) = MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.RandK, Clients, rounds: 8);
        var master = deployment.StartMaster(args);
        int port = master.ListeningPort();

        // A peer with an absurd d joins first and vanishes: neither its id nor its d may stay with the run.
        JoinAndLeave(port, 0, features: 5000);
        master.WaitForError(@"client 0 \(127\.0\.0\.1:\d+\) left before the run started");

        // A real client 1 is killed while it waits in the lobby, then started again.
        var doomed = deployment.StartClient(port, 1);
        master.WaitForError(@"client 1 \(127\.0\.0\.1:\d+\) joined");
        doomed.Kill();
        master.WaitForError(@"client 1 \(127\.0\.0\.1:\d+\) left before the run started");

        var clients = deployment.StartClients(port);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    [Test]
    public void A_client_with_another_d_is_refused_by_the_majority_whenever_it_joined()
    {
        using var deployment = new Deployment(Clients, insecure: true);
        var (args, options) = MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.RandK, Clients, rounds: 8);
        var master = deployment.StartMaster(args);
        int port = master.ListeningPort();

        // Client 2 forgot that the others train without the intercept column, and joins first.
        var wrong = deployment.StartClient(port, 2, "--add-intercept");
        master.WaitForError(@"client 2 \(127\.0\.0\.1:\d+\) joined");
        var right = new[] { deployment.StartClient(port, 0), deployment.StartClient(port, 1) };
        Assert.That(wrong.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(wrong.Errors, Does.Contain("has d = 61, the run has d = 60 (as 2 of 3 clients report)"));
        master.WaitForError(@"client 2 \(127\.0\.0\.1:\d+\) refused: has d = 61, the run has d = 60");

        var fixedClient = deployment.StartClient(port, 2);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in right.Append(fixedClient)) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    [Test]
    public void Clients_that_disagree_on_d_with_no_majority_stop_the_master_with_every_value_named()
    {
        using var deployment = new Deployment(2, insecure: true);
        var (args, _) = MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.RandK, 2, rounds: 4);
        var master = deployment.StartMaster(args);
        int port = master.ListeningPort();
        var clients = new[] { deployment.StartClient(port, 0), deployment.StartClient(port, 1, "--add-intercept") };
        Assert.That(master.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(master.Errors, Does.Contain("the clients disagree on d with no majority (client 0: d = 60, client 1: d = 61)"));
        foreach (var c in clients)
        {
            Assert.That(c.WaitForExit(), Is.EqualTo(1), deployment.Logs());
            Assert.That(c.Errors, Does.Contain("disagree on d"));
        }
    }

    [Test]
    public void Clients_on_their_own_files_agree_on_a_stated_dimension()
    {
        using var deployment = new Deployment(Clients, insecure: true);
        // The split of the built-in data, one file per client; client 2's file lacks the last feature entirely.
        var parts = ClientSplit.Split(SyntheticDataset.Default(false), Clients, 123).Clients.ToArray();
        parts[2] = WithoutLastColumn(parts[2]);
        var files = new string[Clients];
        for (int i = 0; i < Clients; i++)
        {
            files[i] = Path.Combine(deployment.Folder.Path, $"client-{i}.svm");
            LibSvmWriter.Write(files[i], [parts[i]]);
        }
        var (args, options) = MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.TopK, Clients, rounds: 8);

        // Without --dimension on client 2 the master, told d = 61, names both values.
        var master = deployment.StartMaster(args, "--dimension", "61");
        int port = master.ListeningPort();
        var unstated = deployment.StartClient(port, 2, "--local-data", files[2], "--add-intercept");
        Assert.That(unstated.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(unstated.Errors, Does.Contain("has d = 60, the run has d = 61 (--dimension); check --add-intercept, or give the client --dimension 61"));

        var clients = Enumerable.Range(0, Clients)
            .Select(i => deployment.StartClient(port, i, "--local-data", files[i], "--add-intercept", "--dimension", "61")).ToArray();
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());

        var local = parts.Select(p => LibSvmReader.Read(Save(deployment, p), addIntercept: false, minFeatures: 60).WithIntercept()).ToArray();
        var expected = FedNLTrainer.Train(local, 0, options with { Threads = 2 });
        Deployment.AssertSameHistory(expected.History, deployment.History(), deployment.Logs());
    }

    private static string Save(Deployment deployment, Dataset part)
    {
        string path = Path.Combine(deployment.Folder.Path, $"expected-{Guid.NewGuid():N}.svm");
        LibSvmWriter.Write(path, [part]);
        return path;
    }

    private static Dataset WithoutLastColumn(Dataset data)
    {
        int last = data.Features - 1;
        var rows = new List<long> { 0 };
        var columns = new List<int>();
        var values = new List<double>();
        for (int j = 0; j < data.Samples; j++)
        {
            var c = data.RowIndices(j);
            var v = data.RowValues(j);
            for (int k = 0; k < c.Length; k++)
            {
                if (c[k] == last) continue;
                columns.Add(c[k]);
                values.Add(v[k]);
            }
            rows.Add(columns.Count);
        }
        return new Dataset(data.Name, last, rows.ToArray(), columns.ToArray(), values.ToArray(), data.Labels.ToArray());
    }
}

/// <summary>The master's listener shuts down cleanly while peers keep connecting.</summary>
[NonParallelizable]
public sealed class MasterListenerTests
{
    [Test]
    public async Task Disposing_the_listener_while_peers_connect_never_throws()
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            var settings = new MasterSettings
            {
                Listen = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0),
                Options = new TrainingOptions { Clients = 3 },
                HandshakeTimeout = TimeSpan.FromSeconds(5),
            };
            var listener = new MasterListener(settings, Guid.NewGuid(), 0);
            listener.Start(() => Enumerable.Range(0, 3).Select(i => new ClientLink(i)).ToArray());
            int port = listener.Endpoint.Port;
            using var stop = new CancellationTokenSource();
            var hammer = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var tcp = new TcpClient();
                    try
                    {
                        await tcp.ConnectAsync("127.0.0.1", port);
                    }
                    catch (SocketException)
                    {
                        return;
                    }
                }
            });
            await Task.Delay(20 + attempt * 5);
            Assert.That(async () => await listener.DisposeAsync(), Throws.Nothing, $"attempt {attempt}");
            stop.Cancel();
            await hammer;
        }
    }
}
