using System.Buffers.Binary;
using System.Net.Sockets;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Network;

namespace Fednl.Tests.Network;

/// <summary>
/// Faults in a networked run: clients that die, hang or send garbage mid-round (both loss policies, with rejoin),
/// peers that break the framing or the handshake, wrong certificates, duplicate ids, and a master killed and
/// resumed from its checkpoint. The master names every offender in its log and nothing else breaks.
/// </summary>
[NonParallelizable]
[Category("MultiNode")]
public sealed class MultiNodeFaultTests
{
    private const int Clients = 3;

    private static (string[] Args, TrainingOptions Options) FedNLRandK(int rounds) =>
        MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.RandK, Clients, rounds);

    [Test]
    public void A_client_killed_mid_round_stops_a_fail_policy_run_with_the_history_so_far()
    {
        using var deployment = new Deployment(Clients);
        var (args, options) = FedNLRandK(20);
        var master = deployment.StartMaster(args, "--on-client-loss", "fail");
        int port = master.ListeningPort();
        var clients = deployment.StartClients(port, i => i == 1 ? ["--fault", "exit-at:5"] : []);
        Assert.That(master.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(master.Errors, Does.Match(@"client 1 \(127\.0\.0\.1:\d+\) lost in round 5: disconnected"));
        Assert.That(master.Errors, Does.Contain("the history so far (5 rows) is kept"));
        var history = deployment.History();
        Assert.That(history.Select(r => r.Round), Is.EqualTo(Enumerable.Range(0, 5)), "rounds 0-4 completed and saved");
        Deployment.AssertSameHistory(Deployment.SingleNode(options with { Rounds = 20 }).History.Take(5).ToList(), history, deployment.Logs());
        Assert.That(clients[1].WaitForExit(), Is.Not.Zero, "the killed client");
        foreach (int i in new[] { 0, 2 })
        {
            Assert.That(clients[i].WaitForExit(), Is.Zero, deployment.Logs());
            Assert.That(clients[i].Errors, Does.Contain("master ended the run: run stopped: client 1"));
        }
    }

    [Test]
    public void A_client_killed_mid_round_is_reported_missing_and_a_continue_policy_run_finishes()
    {
        using var deployment = new Deployment(Clients);
        var (args, _) = FedNLRandK(60);
        var master = deployment.StartMaster(args, "--on-client-loss", "continue");
        int port = master.ListeningPort();
        var clients = deployment.StartClients(port, i => i == 2 ? ["--fault", "exit-at:4"] : []);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(master.Errors, Does.Match(@"client 2 \(127\.0\.0\.1:\d+\) lost in round 4: disconnected"));
        var history = deployment.History();
        Assert.That(history, Has.Count.EqualTo(61));
        Assert.That(history.Take(4).All(r => r.MissingClients.Length == 0 && r.Participants == 3), Is.True);
        Assert.That(history.Skip(4).Take(56).All(r => r.MissingClients.SequenceEqual([2]) && r.Participants == 2), Is.True,
            "rounds 4-59 report client 2 missing");
        Assert.That(history[^1].GradientNorm, Is.LessThan(1e-8), "the remaining clients converge");
        Assert.That(clients[0].WaitForExit(), Is.Zero);
        Assert.That(clients[1].WaitForExit(), Is.Zero);
    }

    [Test]
    public void A_stalled_client_is_dropped_after_the_timeout_and_rejoins_with_its_state()
    {
        using var deployment = new Deployment(Clients);
        var (args, _) = FedNLRandK(2000);
        var master = deployment.StartMaster(args, "--on-client-loss", "continue", "--round-timeout", "2");
        int port = master.ListeningPort();
        var clients = deployment.StartClients(port, i => i == 0 ? ["--fault", "stall-at:3"] : []);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(master.Errors, Does.Match(@"client 0 \(127\.0\.0\.1:\d+\) lost in round 3: no answer within 2 s"));
        var rejoin = System.Text.RegularExpressions.Regex.Match(master.Errors, @"client 0 \(127\.0\.0\.1:\d+\) rejoined at round (\d+)");
        Assert.That(rejoin.Success, Is.True, deployment.Logs());
        int back = int.Parse(rejoin.Groups[1].Value);
        var history = deployment.History();
        Assert.That(history[3].MissingClients, Is.EqualTo(new[] { 0 }));
        Assert.That(history.Where(r => r.Round >= back && r.Round < 2000).All(r => r.MissingClients.Length == 0 && r.Participants == 3), Is.True,
            "after rejoining, client 0 answers every round");
        Assert.That(history[^1].GradientNorm, Is.LessThan(1e-9), "with its restored shift the run converges");
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
    }

    [Test]
    public void A_client_sending_garbage_mid_round_is_named_and_dropped()
    {
        using var deployment = new Deployment(Clients);
        var (args, _) = FedNLRandK(15);
        var master = deployment.StartMaster(args, "--on-client-loss", "continue");
        int port = master.ListeningPort();
        var clients = deployment.StartClients(port, i => i == 1 ? ["--fault", "garbage-at:6"] : []);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(master.Errors, Does.Match(@"client 1 \(127\.0\.0\.1:\d+\) lost in round 6: broke the protocol \(protocol version 77 is not supported"));
        Assert.That(clients[1].WaitForExit(), Is.EqualTo(1), "the master refused the garbage sender");
        Assert.That(clients[1].Errors, Does.Contain("the master refused client 1"));
        Assert.That(deployment.History()[^1].MissingClients, Is.EqualTo(new[] { 1 }));
    }

    // ---- raw peers against an insecure master, before the real clients join ----------------------------------

    private static byte[] Header(uint length, byte version, byte type)
    {
        var header = new byte[Protocol.HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, length);
        header[4] = version;
        header[5] = type;
        return header;
    }

    private static byte[] HelloFrame(int clientId, int features = 60, int samples = 1333, int splitClients = Clients, byte version = Protocol.Version)
    {
        var payload = new byte[Hello.PayloadBytes];
        int length = new Hello(Guid.Empty, clientId, features, samples, splitClients, 123, 1.0).Write(payload);
        return [.. Header((uint)length, version, (byte)FrameType.Hello), .. payload.AsSpan(0, length)];
    }

    /// <summary>Sends bytes, optionally closes the sending side, and returns the master's Error frame (code, message) or null.</summary>
    private static (ProtocolError Code, string Message)? Poke(int port, byte[] bytes, bool closeAfter)
    {
        using var tcp = new TcpClient();
        tcp.Connect("127.0.0.1", port);
        var stream = tcp.GetStream();
        stream.Write(bytes);
        if (closeAfter) tcp.Client.Shutdown(SocketShutdown.Send);
        stream.ReadTimeout = 15_000;
        var header = new byte[Protocol.HeaderBytes];
        int read = 0;
        while (read < header.Length)
        {
            int n = stream.Read(header, read, header.Length - read);
            if (n == 0) return null;
            read += n;
        }
        Assert.That((FrameType)header[5], Is.EqualTo(FrameType.Error), "the master answers a bad peer with an Error frame");
        var payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(header)];
        stream.ReadExactly(payload);
        return ((ProtocolError)BinaryPrimitives.ReadInt32LittleEndian(payload), System.Text.Encoding.UTF8.GetString(payload, 4, payload.Length - 4));
    }

    [Test]
    public void Bad_peers_are_refused_by_name_and_the_run_is_unaffected()
    {
        using var deployment = new Deployment(Clients);
        var (args, options) = FedNLRandK(10);
        var master = deployment.StartMaster(args, "--insecure", "--handshake-timeout", "3");
        int port = master.ListeningPort();

        var truncated = HelloFrame(0);
        Assert.That(Poke(port, truncated[..20], closeAfter: true), Is.Null, "a truncated frame just ends the connection");
        master.WaitForError(@"dropped during the handshake \(connection closed in the middle of a Hello frame of 48 bytes \(12 of 48 bytes\)\)");

        var oversized = Poke(port, Header(1_000_000_000, Protocol.Version, (byte)FrameType.Hello), closeAfter: false);
        Assert.That(oversized?.Code, Is.EqualTo(ProtocolError.Oversized));
        master.WaitForError(@"refused: Hello frame of 1000000000 bytes exceeds the limit of 4096 bytes");

        var random = new byte[256];
        new Random(7).NextBytes(random);
        random[4] = 200;
        Assert.That(Poke(port, random, closeAfter: false)?.Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        master.WaitForError(@"refused: protocol version 200 is not supported");

        var wrongVersion = Poke(port, HelloFrame(0, version: 2), closeAfter: false);
        Assert.That(wrongVersion?.Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        Assert.That(wrongVersion?.Message, Does.Contain("protocol version 2 is not supported (this side speaks version 1)"));

        var unknownType = Poke(port, Header(0, Protocol.Version, 99), closeAfter: false);
        Assert.That(unknownType?.Code, Is.EqualTo(ProtocolError.UnexpectedFrame));

        var wrongSplit = Poke(port, HelloFrame(0, splitClients: 7), closeAfter: false);
        Assert.That(wrongSplit?.Code, Is.EqualTo(ProtocolError.InconsistentSettings));
        master.WaitForError(@"took its slice of a split into 7 clients with seed 123; this run has 3 clients");

        // Two real clients join; a third peer claims client 0's id and is refused.
        var first = deployment.StartClient(port, 0, "--insecure");
        var second = deployment.StartClient(port, 1, "--insecure");
        master.WaitForError(@"client 0 \(127\.0\.0\.1:\d+\) joined");
        var duplicate = Poke(port, HelloFrame(0), closeAfter: false);
        Assert.That(duplicate?.Code, Is.EqualTo(ProtocolError.DuplicateClient), deployment.Logs());
        Assert.That(duplicate?.Message, Does.Contain("client id 0 is already connected"));
        var wrongD = Poke(port, HelloFrame(2, features: 61), closeAfter: false);
        Assert.That(wrongD?.Code, Is.EqualTo(ProtocolError.InconsistentSettings));
        Assert.That(wrongD?.Message, Does.Contain("has d = 61, the run has d = 60"));

        var third = deployment.StartClient(port, 2, "--insecure");
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in new[] { first, second, third }) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    [Test]
    public void Clients_without_a_valid_certificate_or_claiming_another_id_are_refused()
    {
        using var deployment = new Deployment(Clients);
        var (args, options) = FedNLRandK(8);
        var master = deployment.StartMaster(args);
        int port = master.ListeningPort();

        // A client certificate from another CA (the client itself trusts the master).
        string foreign = Path.Combine(deployment.Folder.Path, "foreign");
        CertificateAuthority.CreateDeployment(foreign, Clients, ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        File.Copy(Path.Combine(deployment.CertsDirectory, "ca.pem"), Path.Combine(foreign, "ca.pem"), overwrite: true);
        var impostor = deployment.Track(new FednlProcess("impostor", deployment.Folder.Path, "client", "--master", $"127.0.0.1:{port}",
            "--id", "0", "--clients", "3", "--certs", foreign, "--retry-for", "2"));
        master.WaitForError(@"refused, TLS handshake failed");
        Assert.That(impostor.WaitForExit(), Is.EqualTo(1), impostor.ToString());

        // Client 0's valid certificate presented as client 1.
        string borrowed = Path.Combine(deployment.Folder.Path, "borrowed");
        Directory.CreateDirectory(borrowed);
        File.Copy(Path.Combine(deployment.CertsDirectory, "ca.pem"), Path.Combine(borrowed, "ca.pem"));
        File.Copy(Path.Combine(deployment.CertsDirectory, "client-0.pem"), Path.Combine(borrowed, "client-1.pem"));
        File.Copy(Path.Combine(deployment.CertsDirectory, "client-0.key"), Path.Combine(borrowed, "client-1.key"));
        var thief = deployment.Track(new FednlProcess("thief", deployment.Folder.Path, "client", "--master", $"127.0.0.1:{port}",
            "--id", "1", "--clients", "3", "--certs", borrowed, "--retry-for", "2"));
        Assert.That(thief.WaitForExit(), Is.EqualTo(1), thief.ToString());
        Assert.That(thief.Errors, Does.Contain("claims client id 1 but its certificate is for client 0"));
        master.WaitForError(@"refused: claims client id 1 but its certificate is for client 0");

        var clients = deployment.StartClients(port);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero);
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    // ---- checkpoints --------------------------------------------------------------------------------------------

    [TestCase(Algorithm.FedNL, CompressorKind.RandK, false)]
    [TestCase(Algorithm.FedNLPartialParticipation, CompressorKind.TopLEK, false)]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.RandK, true)]
    public void A_killed_master_resumes_from_its_checkpoint_with_the_uninterrupted_result(Algorithm algorithm, CompressorKind compressor, bool scale)
    {
        using var deployment = new Deployment(Clients);
        var (args, options) = MultiNodeEquivalenceTests.Training(algorithm, compressor, Clients, rounds: 20);
        if (scale) (args, options) = ([.. args, "--scale"], options with { ScaleFeatures = true });
        string checkpoint = Path.Combine(deployment.Folder.Path, "master.ckpt");
        int port = Deployment.FreePort();
        var first = deployment.StartMaster(port, args, "--checkpoint", checkpoint, "--checkpoint-every", "5", "--fault", "kill-at:12");
        first.WaitForError(@"listening on");
        var clients = deployment.StartClients(port);
        Assert.That(first.WaitForExit(), Is.Not.Zero, "the master was killed");
        Assert.That(first.Errors, Does.Contain("checkpoint: round 10 written"));
        Assert.That(File.Exists(checkpoint + ".tmp"), Is.False, "no half-written checkpoint left behind");

        var second = deployment.StartMaster(port, args, "--checkpoint", checkpoint, "--checkpoint-every", "5", "--resume");
        Assert.That(second.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(second.Errors, Does.Contain("at round 10"));
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    [Test]
    public void Ctrl_c_stops_the_master_after_the_round_with_a_checkpoint_and_the_history()
    {
        using var deployment = new Deployment(Clients);
        var (args, options) = FedNLRandK(1_000_000);
        string checkpoint = Path.Combine(deployment.Folder.Path, "master.ckpt");
        var master = deployment.StartMaster(args, "--checkpoint", checkpoint);
        int port = master.ListeningPort();
        var clients = deployment.StartClients(port);
        master.WaitForError(@"client 2 \(127\.0\.0\.1:\d+\) joined");
        Thread.Sleep(1500);
        master.Interrupt();
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        var stopped = System.Text.RegularExpressions.Regex.Match(master.Errors, @"checkpoint: round (\d+) written");
        Assert.That(stopped.Success, Is.True, master.ToString());
        int round = int.Parse(stopped.Groups[1].Value);
        Assert.That(master.Output, Does.Contain("\"cancelled\":true"));
        var history = deployment.History();
        Assert.That(history[^1].Round, Is.EqualTo(round));
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        var checkpointState = MasterCheckpoint.Read(checkpoint);
        Assert.That(checkpointState.Round, Is.EqualTo(round));
        Deployment.AssertSameHistory(Deployment.SingleNode(options with { Rounds = round }).History.Take(round).ToList(),
            checkpointState.History, "checkpointed history");
    }
}
