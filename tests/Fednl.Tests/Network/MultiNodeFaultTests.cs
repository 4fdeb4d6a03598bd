using System.Buffers.Binary;
using System.Net.Sockets;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Network.Wire;
using Fednl.Network;
using Google.Protobuf;
using Hello = Fednl.Network.Hello;
using Welcome = Fednl.Network.Welcome;

namespace Fednl.Tests.Network;

/// <summary>
/// Faults in a networked run: clients that die, hang or send garbage mid-round (both loss policies, with rejoin),
/// peers that break the framing or the handshake, wrong certificates, duplicate ids, and a master killed and
/// resumed from its checkpoint. The master names every offender in its log and nothing else breaks.
/// </summary>
[NonParallelizable]
[Category("MultiNode")]
[TestFixture("framed")]
[TestFixture("grpc")]
public sealed class MultiNodeFaultTests(string engine)
{
    internal const int Clients = 3;

    private bool Grpc => engine == "grpc";

    private static (string[] Args, TrainingOptions Options) FedNLRandK(int rounds) =>
        MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.RandK, Clients, rounds);

    /// <summary>An insecure deployment whose clients reach the master through a <see cref="FaultProxy"/>.</summary>
    private (Deployment Deployment, FaultProxy Proxy, FednlProcess Master) BehindProxy(string[] args, params string[] extra)
    {
        var deployment = new Deployment(Clients, insecure: true, engine);
        var master = deployment.StartMaster(args, extra);
        var proxy = deployment.Proxy(master.ListeningPort());
        return (deployment, proxy, master);
    }

    [Test]
    public void A_client_killed_mid_round_stops_a_fail_policy_run_with_the_history_so_far()
    {
        var (args, options) = FedNLRandK(20);
        var (deployment, proxy, master) = BehindProxy(args, "--on-client-loss", "fail");
        using var deploymentScope = deployment;
        using var proxyScope = proxy;
        FednlProcess[] clients = [];
        proxy.At(1, 5, ProxyFault.Cut, () => clients[1].Kill());
        clients = deployment.StartClients(proxy.Port);
        Assert.That(master.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(master.Errors, Does.Match(@"client 1 \(127\.0\.0\.1:\d+\) lost in round 5: disconnected"));
        Assert.That(master.Errors, Does.Contain("the history so far (5 rows) is kept"));
        var history = deployment.History();
        Assert.That(history.Select(r => r.Round), Is.EqualTo(Enumerable.Range(0, 5)), "rounds 0-4 completed and saved");
        Deployment.AssertSameHistory(Deployment.SingleNode(options with { Rounds = 20 }).History.Take(5).ToList(), history, deployment.Logs());
        Assert.That(clients[1].WaitForExit(), Is.Not.Zero, "the killed client");
        foreach (int i in new[] { 0, 2 })
        {
            Assert.That(clients[i].WaitForExit(), Is.EqualTo(1), $"the master stopped the run on a failure\n{deployment.Logs()}");
            Assert.That(clients[i].Errors, Does.Contain("the master stopped the run on a failure: run stopped: client 1"));
        }
    }

    [Test]
    public void A_client_killed_mid_round_is_reported_missing_and_a_continue_policy_run_finishes()
    {
        var (args, options) = FedNLRandK(60);
        var (deployment, proxy, master) = BehindProxy(args, "--on-client-loss", "continue");
        using var deploymentScope = deployment;
        using var proxyScope = proxy;
        FednlProcess[] clients = [];
        proxy.At(2, 4, ProxyFault.Cut, () => clients[2].Kill());
        clients = deployment.StartClients(proxy.Port);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(master.Errors, Does.Match(@"client 2 \(127\.0\.0\.1:\d+\) lost in round 4: disconnected"));
        var history = deployment.History();
        Assert.That(history, Has.Count.EqualTo(61));
        Assert.That(history.Take(4).All(r => r.MissingClients.Length == 0 && r.Participants == 3), Is.True);
        Assert.That(history.Skip(4).All(r => r.MissingClients.SequenceEqual([2]) && r.Participants == 2), Is.True,
            "rounds 4-60 report client 2 missing, and 2 participants, the final evaluation included");
        Assert.That(history[^1].GradientNorm, Is.LessThan(1e-8), "the remaining clients converge");
        var json = System.Text.Json.JsonDocument.Parse(master.Output.Trim().Split('\n')[^1]).RootElement;
        Assert.That(json.GetProperty("dropped_samples").GetInt64(), Is.EqualTo(Deployment.SingleNode(options with { Rounds = 1 }).DroppedSamples),
            "the master counts the samples its clients' split dropped, as single-node training does");
        Assert.That(json.GetProperty("dropped_samples").GetInt64(), Is.GreaterThan(0), "the built-in data does not split evenly");
        Assert.That(clients[0].WaitForExit(), Is.Zero);
        Assert.That(clients[1].WaitForExit(), Is.Zero);
    }

    [Test]
    public void With_clients_lost_every_mean_is_over_the_rest_and_the_run_reaches_their_optimum()
    {
        // phishing, randk, 4 clients; clients 0 and 2 vanish at rounds 14 and 15.
        string phishing = TestData.Dataset("phishing");
        const int clients = 4;
        using var deployment = new Deployment(clients, insecure: true, engine);
        var master = deployment.StartMaster(["--compressor", "randk", "--rounds", "400", "--tolerance", "1e-10", "--on-client-loss", "continue"]);
        using var proxy = deployment.Proxy(master.ListeningPort());
        FednlProcess[] processes = [];
        proxy.At(0, 14, ProxyFault.Cut, () => processes[0].Kill());
        proxy.At(2, 15, ProxyFault.Cut, () => processes[2].Kill());
        processes = Enumerable.Range(0, clients).Select(i => deployment.StartClient(proxy.Port, i, "--data", phishing, "--add-intercept")).ToArray();
        Assert.That(master.WaitForExit(300), Is.Zero, deployment.Logs());
        var history = deployment.History();
        Assert.That(history.Skip(16).All(r => r.MissingClients.SequenceEqual([0, 2]) && r.Participants == 2), Is.True, deployment.Logs());
        Assert.That(history.Skip(16).All(r => r.SolveRegularisations == 0), Is.True, "H stays positive definite: it averages the same clients as g and l");

        // The remaining clients' objective, solved independently.
        var split = ClientSplit.Split(LibSvmReader.Read(phishing, addIntercept: true), clients, 123).Clients;
        var optimum = Fednl.Tests.Algorithms.CentralisedNewton.Solve([split[1], split[3]], 1e-3);
        var final = history[^1];
        Assert.That(final.GradientNorm, Is.LessThanOrEqualTo(1e-10), $"converged in {final.Round} rounds");
        Assert.That(Math.Abs(final.Loss - optimum.F) / optimum.F, Is.LessThan(1e-10), $"f = {final.Loss:R}, optimum {optimum.F:R}");
        Assert.That(Math.Abs(final.ModelNorm - Math.Sqrt(optimum.X.Sum(v => v * v))), Is.LessThan(1e-7), "‖x‖ matches the optimum's");
    }

    [Test]
    public void A_stalled_client_is_dropped_after_the_timeout_and_rejoins_with_its_state()
    {
        var (args, _) = FedNLRandK(2000);
        var (deployment, proxy, master) = BehindProxy(args, "--on-client-loss", "continue", "--round-timeout", "2");
        using var deploymentScope = deployment;
        using var proxyScope = proxy;
        proxy.At(0, 3, ProxyFault.Stall);
        var clients = deployment.StartClients(proxy.Port);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(master.Errors, Does.Match(@"client 0 \(127\.0\.0\.1:\d+\) lost in round 3: no answer within 2 s"));
        var rejoin = System.Text.RegularExpressions.Regex.Match(master.Errors, @"client 0 \(127\.0\.0\.1:\d+\) rejoined at round (\d+)");
        Assert.That(rejoin.Success, Is.True, deployment.Logs());
        int back = int.Parse(rejoin.Groups[1].Value);
        var history = deployment.History();
        Assert.That(history[3].MissingClients, Is.EqualTo(new[] { 0 }));
        Assert.That(history.Where(r => r.Round >= back).All(r => r.MissingClients.Length == 0 && r.Participants == 3), Is.True,
            "after rejoining, client 0 answers every round");
        Assert.That(history[^1].GradientNorm, Is.LessThan(1e-9), "with its restored shift the run converges");
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
    }

    [Test]
    public void A_client_sending_garbage_mid_round_is_named_and_dropped()
    {
        var (args, _) = FedNLRandK(15);
        var (deployment, proxy, master) = BehindProxy(args, "--on-client-loss", "continue");
        using var deploymentScope = deployment;
        using var proxyScope = proxy;
        proxy.At(1, 6, ProxyFault.Garbage);
        var clients = deployment.StartClients(proxy.Port);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(master.Errors, Does.Match(Grpc
            ? @"client 1 \(127\.0\.0\.1:\d+\) lost in round 6: broke the protocol \(ClientMessage of 3 bytes from client 1 \(127\.0\.0\.1:\d+\) does not parse"
            : @"client 1 \(127\.0\.0\.1:\d+\) lost in round 6: broke the protocol \(protocol version 77 is not supported"));
        Assert.That(clients[1].WaitForExit(), Is.EqualTo(1), "the master refused the garbage sender");
        Assert.That(clients[1].Errors, Does.Contain("the master refused client 1"));
        Assert.That(deployment.History()[^1].MissingClients, Is.EqualTo(new[] { 1 }));
    }

    // ---- raw peers against an insecure master, before the real clients join ----------------------------------

    internal static byte[] Header(uint length, byte version, byte type)
    {
        var header = new byte[Protocol.HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, length);
        header[4] = version;
        header[5] = type;
        return header;
    }

    internal static byte[] HelloFrame(int clientId, int features = 60, int samples = 666, int splitClients = Clients, byte version = Protocol.Version,
        bool keepAll = false)
    {
        var message = new ClientMessage { Hello = new Hello(Guid.Empty, clientId, features, samples, splitClients, 123, 1.0, keepAll, 2000).ToWire() };
        var payload = message.ToByteArray();
        return [.. Header((uint)payload.Length, version, (byte)ClientMessage.BodyOneofCase.Hello), .. payload];
    }

    /// <summary>Sends bytes, optionally closes the sending side, and returns the master's Error frame (code, message) or null.</summary>
    internal static (ProtocolError Code, string Message)? Poke(int port, byte[] bytes, bool closeAfter)
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
        Assert.That(header[5], Is.EqualTo((byte)MasterMessage.BodyOneofCase.Error), "the master answers a bad peer with an Error message");
        var payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(header)];
        stream.ReadExactly(payload);
        var error = MasterMessage.Parser.ParseFrom(payload).Error;
        return ((ProtocolError)error.Code, error.Message);
    }

    /// <summary>
    /// Opens a raw session with an h2c master, sends <paramref name="message"/> as its first message, and returns the
    /// master's Error (code, message), or null when the master ended the session without one.
    /// </summary>
    internal static (ProtocolError Code, string Message)? PokeGrpc(int port, byte[] message)
    {
        var raw = new global::Grpc.Core.Method<byte[], byte[]>(global::Grpc.Core.MethodType.DuplexStreaming, "fednl.v3.Federation", "Session",
            global::Grpc.Core.Marshallers.Create(b => b, b => b), global::Grpc.Core.Marshallers.Create(b => b, b => b));
        using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(raw, null,
            new global::Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(60)));
        try
        {
            call.RequestStream.WriteAsync(message).GetAwaiter().GetResult();
            if (!call.ResponseStream.MoveNext(CancellationToken.None).GetAwaiter().GetResult()) return null;
        }
        catch (global::Grpc.Core.RpcException)
        {
            return null;
        }
        var answer = MasterMessage.Parser.ParseFrom(call.ResponseStream.Current);
        Assert.That(answer.BodyCase, Is.EqualTo(MasterMessage.BodyOneofCase.Error), "the master answers a bad peer with an Error message");
        return ((ProtocolError)answer.Error.Code, answer.Error.Message);
    }

    internal static byte[] HelloMessage(int clientId, int splitClients = Clients, bool keepAll = false, uint version = WireCodec.Version, int features = 60)
    {
        var hello = new Hello(Guid.Empty, clientId, features, 666, splitClients, 123, 1.0, keepAll, 2000).ToWire();
        hello.ProtocolVersion = version;
        return new ClientMessage { Hello = hello }.ToByteArray();
    }

    [Test]
    public void Bad_peers_are_refused_by_name_and_the_run_is_unaffected()
    {
        if (Grpc) BadGrpcPeers();
        else BadFramedPeers();
    }

    /// <summary>The same attacks at the message level of a gRPC session (HTTP/2 itself is the framework's to defend).</summary>
    private static void BadGrpcPeers()
    {
        using var deployment = new Deployment(Clients, insecure: true, "grpc");
        var (args, options) = FedNLRandK(10);
        var master = deployment.StartMaster(args, "--handshake-timeout", "3");
        int port = master.ListeningPort();

        var garbage = PokeGrpc(port, [0xFF, 0xFF, 0xFF]);
        Assert.That(garbage?.Code, Is.EqualTo(ProtocolError.MalformedFrame), deployment.Logs());
        master.WaitForError(@"refused: ClientMessage of 3 bytes from 127\.0\.0\.1:\d+ does not parse");

        var oversized = new byte[Protocol.HandshakeLimit + 1];
        Array.Fill(oversized, (byte)0xFF);
        Assert.That(PokeGrpc(port, oversized)?.Code, Is.EqualTo(ProtocolError.Oversized).Or.Null);
        master.WaitForError(@"refused: ClientMessage of 4097 bytes from 127\.0\.0\.1:\d+ exceeds the limit of 4096 bytes \(handshake, d not yet known\); refused before parsing");

        var wrongVersion = PokeGrpc(port, HelloMessage(0, version: 1));
        Assert.That(wrongVersion?.Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        Assert.That(wrongVersion?.Message, Does.Contain("protocol version 1 is not supported (this side speaks version 3)"));

        var ready = PokeGrpc(port, new ClientMessage { Ready = new Ready() }.ToByteArray());
        Assert.That(ready?.Code, Is.EqualTo(ProtocolError.UnexpectedFrame));
        Assert.That(ready?.Message, Does.Contain("Ready before Hello"));

        var wrongSplit = PokeGrpc(port, HelloMessage(0, splitClients: 7));
        Assert.That(wrongSplit?.Code, Is.EqualTo(ProtocolError.InconsistentSettings));
        master.WaitForError(@"took its slice of a split into 7 clients with seed 123; this run has 3 clients");

        var wrongSplitMode = PokeGrpc(port, HelloMessage(1, keepAll: true));
        Assert.That(wrongSplitMode?.Message, Does.Contain("keeps every sample (--keep-all); this run drops the N mod n leftovers"));

        var tooLarge = PokeGrpc(port, HelloMessage(1, features: 5000));
        Assert.That(tooLarge?.Code, Is.EqualTo(ProtocolError.InconsistentSettings));
        Assert.That(tooLarge?.Message, Does.Contain("has d = 5000, above the gRPC engine's largest d of 4096; start the master with --max-dimension 5000"));

        // Two real clients join; a third peer claims client 0's id and is refused.
        var first = deployment.StartClient(port, 0);
        var second = deployment.StartClient(port, 1);
        master.WaitForError(@"client 0 \(127\.0\.0\.1:\d+\) joined");
        var duplicate = PokeGrpc(port, HelloMessage(0));
        Assert.That(duplicate?.Code, Is.EqualTo(ProtocolError.DuplicateClient), deployment.Logs());
        Assert.That(duplicate?.Message, Does.Contain("client id 0 is already connected"));
        var third = deployment.StartClient(port, 2);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in new[] { first, second, third }) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    private static void BadFramedPeers()
    {
        using var deployment = new Deployment(Clients, insecure: true);
        var (args, options) = FedNLRandK(10);
        var master = deployment.StartMaster(args, "--handshake-timeout", "3");
        int port = master.ListeningPort();

        var truncated = HelloFrame(0);
        Assert.That(Poke(port, truncated[..20], closeAfter: true), Is.Null, "a truncated frame just ends the connection");
        master.WaitForError(@"dropped during the handshake \(connection closed in the middle of a message of kind 1 and \d+ bytes \(12 of \d+ bytes\)\)");

        var oversized = Poke(port, Header(1_000_000_000, Protocol.Version, (byte)ClientMessage.BodyOneofCase.Hello), closeAfter: false);
        Assert.That(oversized?.Code, Is.EqualTo(ProtocolError.Oversized));
        master.WaitForError(@"refused: message of kind 1 and 1000000000 bytes exceeds the limit of 4096 bytes");

        var random = new byte[256];
        new Random(7).NextBytes(random);
        random[4] = 200;
        Assert.That(Poke(port, random, closeAfter: false)?.Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        master.WaitForError(@"refused: protocol version 200 is not supported");

        var wrongVersion = Poke(port, HelloFrame(0, version: 1), closeAfter: false);
        Assert.That(wrongVersion?.Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        Assert.That(wrongVersion?.Message, Does.Contain("protocol version 1 is not supported (this side speaks version 3)"));

        var unknownType = Poke(port, Header(0, Protocol.Version, 99), closeAfter: false);
        Assert.That(unknownType?.Code, Is.EqualTo(ProtocolError.UnexpectedFrame));

        var wrongSplit = Poke(port, HelloFrame(0, splitClients: 7), closeAfter: false);
        Assert.That(wrongSplit?.Code, Is.EqualTo(ProtocolError.InconsistentSettings));
        master.WaitForError(@"took its slice of a split into 7 clients with seed 123; this run has 3 clients");

        // Two real clients join; a third peer claims client 0's id and is refused.
        var wrongSplitMode = Poke(port, HelloFrame(1, keepAll: true), closeAfter: false);
        Assert.That(wrongSplitMode?.Code, Is.EqualTo(ProtocolError.InconsistentSettings));
        Assert.That(wrongSplitMode?.Message, Does.Contain("keeps every sample (--keep-all); this run drops the N mod n leftovers"));

        var first = deployment.StartClient(port, 0);
        var second = deployment.StartClient(port, 1);
        master.WaitForError(@"client 0 \(127\.0\.0\.1:\d+\) joined");
        var duplicate = Poke(port, HelloFrame(0), closeAfter: false);
        Assert.That(duplicate?.Code, Is.EqualTo(ProtocolError.DuplicateClient), deployment.Logs());
        Assert.That(duplicate?.Message, Does.Contain("client id 0 is already connected"));
        var third = deployment.StartClient(port, 2);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in new[] { first, second, third }) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    [Test]
    public void Clients_without_a_valid_certificate_or_claiming_another_id_are_refused()
    {
        using var deployment = new Deployment(Clients, engine: engine);
        var (args, options) = FedNLRandK(8);
        var master = deployment.StartMaster(args);
        int port = master.ListeningPort();

        // A client certificate from another CA (the client itself trusts the master).
        string foreign = Path.Combine(deployment.Folder.Path, "foreign");
        CertificateAuthority.CreateDeployment(foreign, Clients, ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        File.Copy(Path.Combine(deployment.CertsDirectory, "ca.pem"), Path.Combine(foreign, "ca.pem"), overwrite: true);
        // Its retry window is long: it must still stop soon, and say why, since the master refuses it at once every time.
        var impostor = deployment.Track(new FednlProcess("impostor", deployment.Folder.Path, "client", "--master", $"127.0.0.1:{port}",
            "--id", "0", "--clients", "3", "--certs", foreign, "--retry-for", "600", "--engine", engine));
        master.WaitForError(Grpc ? @"TLS refused: client certificate" : @"refused, TLS handshake failed");
        Assert.That(impostor.WaitForExit(90), Is.EqualTo(1), impostor.ToString());
        Assert.That(impostor.Errors, Does.Contain("it refuses a certificate its CA did not issue"));
        Assert.That(impostor.Errors, Does.Contain("so this client gives up"));

        // A plain-TCP client against a TLS master is told to drop --insecure.
        var plain = deployment.Track(new FednlProcess("plain", deployment.Folder.Path, "client", "--master", $"127.0.0.1:{port}",
            "--id", "0", "--clients", "3", "--insecure", "--retry-for", "600", "--engine", engine));
        Assert.That(plain.WaitForExit(90), Is.EqualTo(1), plain.ToString());
        Assert.That(plain.Errors, Does.Contain("a master that runs TLS closes plain TCP clients: drop --insecure"));

        // Client 0's valid certificate presented as client 1.
        string borrowed = Path.Combine(deployment.Folder.Path, "borrowed");
        Directory.CreateDirectory(borrowed);
        File.Copy(Path.Combine(deployment.CertsDirectory, "ca.pem"), Path.Combine(borrowed, "ca.pem"));
        File.Copy(Path.Combine(deployment.CertsDirectory, "client-0.pem"), Path.Combine(borrowed, "client-1.pem"));
        File.Copy(Path.Combine(deployment.CertsDirectory, "client-0.key"), Path.Combine(borrowed, "client-1.key"));
        var thief = deployment.Track(new FednlProcess("thief", deployment.Folder.Path, "client", "--master", $"127.0.0.1:{port}",
            "--id", "1", "--clients", "3", "--certs", borrowed, "--retry-for", "2", "--engine", engine));
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
        var (args, options) = MultiNodeEquivalenceTests.Training(algorithm, compressor, Clients, rounds: 20);
        if (scale) (args, options) = ([.. args, "--scale"], options with { ScaleFeatures = true });
        using var deployment = new Deployment(Clients, insecure: true, engine);
        string checkpoint = Path.Combine(deployment.Folder.Path, "master.ckpt");
        var first = deployment.StartMaster(args, "--checkpoint", checkpoint, "--checkpoint-every", "5");
        using var proxy = deployment.Proxy(first.ListeningPort());
        proxy.FreezeAt(12);
        // A retry window shorter than the freeze below: the clients must wait for the master from the moment it vanished,
        // not from when they connected. 10 s, so that a restarted master still starting up on a loaded machine (it can
        // take seconds to serve its first handshakes) is reached within it.
        var clients = Enumerable.Range(0, Clients).Select(i => deployment.StartClient(proxy.Port, i, "--retry-for", "10")).ToArray();
        proxy.WaitUntilFrozen();
        Thread.Sleep(11000); // longer than the clients' retry window
        first.Kill();
        Assert.That(first.WaitForExit(), Is.Not.Zero, "the master was killed");
        Assert.That(first.Errors, Does.Contain("checkpoint: round 10 written"));
        Assert.That(File.Exists(checkpoint + ".tmp"), Is.False, "no half-written checkpoint left behind");

        var second = deployment.StartMaster(args, "--checkpoint", checkpoint, "--checkpoint-every", "5", "--resume");
        proxy.UpstreamPort = second.ListeningPort();
        proxy.ReleaseAndCloseAll(); // the clients lose the dead master's connections only now
        Assert.That(second.WaitForExit(context: deployment.Logs), Is.Zero, deployment.Logs());
        Assert.That(second.Errors, Does.Contain("at round 10"));
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());
    }

    [Test]
    public void A_corrupted_or_foreign_checkpoint_is_refused_with_a_clear_error()
    {
        using var deployment = new Deployment(Clients, engine: engine);
        var (args, _) = FedNLRandK(6);
        string checkpoint = Path.Combine(deployment.Folder.Path, "master.ckpt");
        var master = deployment.StartMaster(args, "--checkpoint", checkpoint);
        int port = master.ListeningPort();
        var clients = deployment.StartClients(port);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero);
        var intact = File.ReadAllBytes(checkpoint);
        var state = MasterCheckpoint.Read(checkpoint);
        Assert.That(state.Round, Is.EqualTo(6));

        // Single bit flips in the history (near the start), in the model and H (middle) and in a client's state (near the end).
        foreach (long at in new long[] { 120, intact.Length / 3, intact.Length / 2, intact.Length - 60 })
        {
            var flipped = (byte[])intact.Clone();
            flipped[at] ^= 0x10;
            File.WriteAllBytes(checkpoint, flipped);
            var e = Assert.Throws<InvalidDataException>(() => MasterCheckpoint.Read(checkpoint), $"bit flip at byte {at}");
            Assert.That(e!.Message, Does.Contain("checkpoint is corrupted"));
        }
        File.WriteAllBytes(checkpoint, intact[..^1]);
        Assert.That(() => MasterCheckpoint.Read(checkpoint), Throws.TypeOf<InvalidDataException>());
        var otherVersion = (byte[])intact.Clone();
        otherVersion[8] = 99;
        File.WriteAllBytes(checkpoint, otherVersion);
        Assert.That(() => MasterCheckpoint.Read(checkpoint), Throws.TypeOf<InvalidDataException>().With.Message.Contains("checkpoint format 99"));

        // The master refuses to resume from a corrupted file: exit 1, one line naming it.
        var flippedModel = (byte[])intact.Clone();
        flippedModel[intact.Length / 2] ^= 1;
        File.WriteAllBytes(checkpoint, flippedModel);
        var resumed = deployment.StartMaster(args, "--checkpoint", checkpoint, "--resume");
        Assert.That(resumed.WaitForExit(), Is.EqualTo(1), resumed.ToString());
        Assert.That(resumed.Errors, Does.Contain($"{checkpoint}: checkpoint is corrupted"));
    }

    [Test]
    public void Ctrl_c_stops_the_master_after_the_round_with_a_checkpoint_and_the_history()
    {
        using var deployment = new Deployment(Clients, engine: engine);
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
