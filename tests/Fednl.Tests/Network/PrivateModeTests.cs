using System.Buffers.Binary;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Network;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Tests.Network;

/// <summary>
/// Private mode end to end, master and clients as separate processes: the clients' histories equal the single-node
/// simulation bit for bit; the relay never holds the key and never forwards a plaintext vector; a relay that
/// tampers with a sealed message, or sends clients different bundles, stops every client with an error naming the
/// sender; loss policies and resuming from the clients' checkpoints work as in the normal mode.
/// </summary>
[NonParallelizable]
[Category("MultiNode")]
public sealed class PrivateModeTests
{
    private const int Clients = 3;

    private static (string[] Args, TrainingOptions Options) Training(Algorithm algorithm, CompressorKind compressor, int option, int rounds = 12)
    {
        var (args, options) = MultiNodeEquivalenceTests.Training(algorithm, compressor, Clients, rounds);
        return ([.. args, "--option", option.ToString()], options with { Option = (FedNLOption)option });
    }

    [TestCase(Algorithm.FedNL, CompressorKind.PermK, 2)]
    [TestCase(Algorithm.FedNL, CompressorKind.RandSeqK, 1)]
    [TestCase(Algorithm.FedNL, CompressorKind.TopK, 2)]
    [TestCase(Algorithm.FedNL, CompressorKind.Natural, 2)]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.PermK, 1)]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.RandK, 2)]
    [TestCase(Algorithm.FedNLPartialParticipation, CompressorKind.PermK, 2)]
    [TestCase(Algorithm.FedNLPartialParticipation, CompressorKind.TopLEK, 2)]
    [TestCase(Algorithm.GradientDescent, CompressorKind.Identical, 2)]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.PermK, 1, "--scale")]
    [TestCase(Algorithm.FedNL, CompressorKind.RandK, 1, "--step")]
    public void Every_private_client_holds_the_single_node_history(Algorithm algorithm, CompressorKind compressor, int option, string setting = "")
    {
        var (args, options) = Training(algorithm, compressor, option);
        if (setting == "--scale") (args, options) = ([.. args, "--scale"], options with { ScaleFeatures = true });
        if (setting == "--step") (args, options) = ([.. args, "--step", "damped"], options with { StepSize = StepSize.Damped });
        using var deployment = new Deployment(Clients);
        var master = deployment.StartPrivateMaster(0, args);
        var clients = deployment.StartPrivateClients(master.ListeningPort());
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var client in clients) Assert.That(client.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(master.Output, Does.Contain("\"mode\":\"private\""));
        var expected = Deployment.SingleNode(options);
        for (int i = 0; i < Clients; i++)
            Deployment.AssertSameHistory(expected.History, deployment.ClientHistory(i), $"client {i}\n{deployment.Logs()}");
        double progress = algorithm == Algorithm.GradientDescent ? 0.95 : 0.1; // 12 gradient steps move slowly
        Assert.That(expected.Final.GradientNorm, Is.LessThan(progress * expected.History[0].GradientNorm), "the run made progress");
    }

    [Test]
    public void The_relay_forwards_no_plaintext_vector_and_never_holds_the_key()
    {
        var (args, options) = Training(Algorithm.FedNL, CompressorKind.RandK, 2, rounds: 10);

        // The normal mode over the same proxy: what the master sees there is what private mode must hide.
        var patterns = new HashSet<long>();
        using (var normal = new Deployment(Clients, insecure: true))
        {
            var master = normal.StartMaster(args);
            using var proxy = normal.Proxy(master.ListeningPort());
            proxy.Tap = (down, frame) => { lock (patterns) CollectVectors(down, frame, patterns); };
            var clients = normal.StartClients(proxy.Port);
            Assert.That(master.WaitForExit(), Is.Zero, normal.Logs());
            foreach (var c in clients) Assert.That(c.WaitForExit(), Is.Zero, normal.Logs());
        }
        patterns.Remove(0);
        patterns.Remove(BitConverter.DoubleToInt64Bits(-0.0));
        Assert.That(patterns, Has.Count.GreaterThan(500), "models and gradients seen in the normal mode");

        using var deployment = new Deployment(Clients, insecure: true);
        var relay = deployment.StartPrivateMaster(0, args);
        using var tap = deployment.Proxy(relay.ListeningPort());
        var relayed = new MemoryStream();
        tap.Tap = (_, frame) => { lock (relayed) relayed.Write(frame); };
        // Hold every client's bundle of one mid-run exchange, and read the relay's and a client's memory meanwhile.
        using var holding = new CountdownEvent(Clients);
        using var release = new ManualResetEventSlim(false);
        tap.Down = (_, frame) =>
        {
            if (frame[5] == (byte)MasterMessage.BodyOneofCase.Bundle && MasterMessage.Parser.ParseFrom(frame.AsSpan(Protocol.HeaderBytes)).Bundle.Exchange == 6)
            {
                holding.Signal();
                release.Wait(TimeSpan.FromMinutes(5));
            }
            return frame;
        };
        var privateClients = deployment.StartPrivateClients(tap.Port);
        try
        {
            Assert.That(holding.Wait(TimeSpan.FromMinutes(3)), Is.True, $"every client's bundle of exchange 6 held\n{deployment.Logs()}");
            var key = File.ReadAllBytes(deployment.KeyPath);
            Assert.That(ProcessMemory.Contains(privateClients[0].Id, key), Is.True, "the search finds the key in a client, which holds it");
            Assert.That(ProcessMemory.Contains(relay.Id, key), Is.False, "the relay's memory holds the key");
        }
        finally
        {
            release.Set();
        }
        Assert.That(relay.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in privateClients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());

        // The private clients computed the same models (so the same vectors were inside their sealed messages) ...
        var expected = Deployment.SingleNode(options);
        Deployment.AssertSameHistory(expected.History, deployment.ClientHistory(0), deployment.Logs());
        // ... and none of their 8-byte patterns crossed the relay in the clear.
        byte[] bytes;
        lock (relayed) bytes = relayed.ToArray();
        Assert.That(bytes.Length, Is.GreaterThan(100_000), "relayed bytes captured");
        var found = new List<double>();
        for (int at = 0; at + 8 <= bytes.Length; at++)
            if (patterns.Contains(BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at)))) found.Add(BitConverter.ToDouble(bytes, at));
        Assert.That(found, Is.Empty, "plaintext model or gradient entries in the relayed bytes");
    }

    /// <summary>The 8-byte patterns of the models sent and the gradients received by a normal master.</summary>
    private static void CollectVectors(bool down, byte[] frame, HashSet<long> patterns)
    {
        var body = frame.AsSpan(Protocol.HeaderBytes);
        ByteString? vector = null;
        if (down)
        {
            var m = MasterMessage.Parser.ParseFrom(body);
            vector = m.BodyCase switch
            {
                MasterMessage.BodyOneofCase.Round => m.Round.Model,
                MasterMessage.BodyOneofCase.Evaluate => m.Evaluate.Model,
                _ => null,
            };
        }
        else
        {
            var m = ClientMessage.Parser.ParseFrom(body);
            vector = m.BodyCase switch
            {
                ClientMessage.BodyOneofCase.Update => m.Update.Gradient,
                ClientMessage.BodyOneofCase.Evaluation => m.Evaluation.Gradient,
                _ => null,
            };
        }
        if (vector is null) return;
        var span = vector.Span;
        for (int at = 0; at + 8 <= span.Length; at += 8) patterns.Add(BinaryPrimitives.ReadInt64LittleEndian(span[at..]));
    }

    public enum Tamper { FlipBit, Drop, Reorder, Replay }

    [TestCase(Tamper.FlipBit, "the sealed message from client 1 in round")]
    [TestCase(Tamper.Drop, "the relay dropped client 1's sealed message")]
    [TestCase(Tamper.Reorder, "holds client 0's message out of client order")]
    [TestCase(Tamper.Replay, "client 1's sealed message of round")]
    public void A_relay_that_alters_a_sealed_message_stops_every_client_naming_the_sender(Tamper tamper, string expected)
    {
        var (args, _) = Training(Algorithm.FedNL, CompressorKind.RandK, 2);
        using var deployment = new Deployment(Clients, insecure: true);
        var master = deployment.StartPrivateMaster(0, args);
        using var proxy = deployment.Proxy(master.ListeningPort());
        const long target = 5; // exchanges: 0 the clients' facts, 1 initialisation, 2.. rounds
        ByteString? previous = null;
        proxy.Down = (client, frame) =>
        {
            if (client != 0 || frame[5] != (byte)MasterMessage.BodyOneofCase.Bundle) return frame;
            var message = MasterMessage.Parser.ParseFrom(frame.AsSpan(Protocol.HeaderBytes));
            var sealedMessages = message.Bundle.Sealed;
            if (message.Bundle.Exchange == target - 1) previous = sealedMessages[1];
            if (message.Bundle.Exchange != target) return frame;
            switch (tamper)
            {
                case Tamper.FlipBit:
                    var one = Sealed.Parser.ParseFrom(sealedMessages[1]);
                    var text = one.Ciphertext.ToByteArray();
                    text[text.Length / 2] ^= 0x10;
                    one.Ciphertext = ByteString.CopyFrom(text);
                    sealedMessages[1] = one.ToByteString();
                    break;
                case Tamper.Drop:
                    sealedMessages.RemoveAt(1);
                    break;
                case Tamper.Reorder:
                    (sealedMessages[0], sealedMessages[1]) = (sealedMessages[1], sealedMessages[0]);
                    break;
                case Tamper.Replay:
                    sealedMessages[1] = previous!;
                    break;
            }
            return Frame(message);
        };
        var clients = deployment.StartPrivateClients(proxy.Port);
        Assert.That(clients[0].WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(clients[0].Errors, Does.Contain(expected), deployment.Logs());
        Assert.That(master.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(master.Errors, Does.Contain("client 0 stopped the run"), deployment.Logs());
        foreach (var other in clients[1..])
        {
            Assert.That(other.WaitForExit(), Is.EqualTo(1), deployment.Logs());
            Assert.That(other.Errors, Does.Contain("the relay stopped the run: client 0 stopped the run"), deployment.Logs());
        }
        Assert.That(deployment.ClientHistory(0), Is.Not.Empty, "the history so far is kept");
    }

    [Test]
    public void A_relay_that_sends_clients_different_bundles_stops_them_at_their_next_exchange()
    {
        var (args, _) = Training(Algorithm.FedNL, CompressorKind.RandK, 2);
        using var deployment = new Deployment(Clients, insecure: true);
        var master = deployment.StartPrivateMaster(0, [.. args, "--on-client-loss", "continue"]);
        using var proxy = deployment.Proxy(master.ListeningPort());
        // Client 2 alone is told that client 1 was lost in round 2: its model then differs from the others'.
        proxy.Down = (client, frame) =>
        {
            if (client != 2 || frame[5] != (byte)MasterMessage.BodyOneofCase.Bundle) return frame;
            var message = MasterMessage.Parser.ParseFrom(frame.AsSpan(Protocol.HeaderBytes));
            if (message.Bundle.Exchange != 4) return frame;
            message.Bundle.Sealed.RemoveAt(1);
            message.Bundle.Lost.Add(1);
            return Frame(message);
        };
        var clients = deployment.StartPrivateClients(proxy.Port);
        foreach (var c in clients) Assert.That(c.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(master.WaitForExit(), Is.EqualTo(1), deployment.Logs());
        Assert.That(clients[0].Errors, Does.Contain("the sealed message from client 2 in round 3").Or.Contain("client 0 stopped the run")
            .Or.Contain("client 1 stopped the run"), deployment.Logs());
        string all = string.Join("\n", clients.Select(c => c.Errors));
        Assert.That(all, Does.Contain("computed at another model"), deployment.Logs());
    }

    [TestCase("fail")]
    [TestCase("continue")]
    public void A_client_lost_mid_run_stops_the_run_or_is_left_out(string policy)
    {
        var (args, _) = Training(Algorithm.FedNL, CompressorKind.RandK, 2);
        using var deployment = new Deployment(Clients, insecure: true);
        var master = deployment.StartPrivateMaster(0, [.. args, "--on-client-loss", policy, "--round-timeout", "20"]);
        using var proxy = deployment.Proxy(master.ListeningPort());
        FednlProcess[] clients = [];
        proxy.Down = (client, frame) =>
        {
            if (client != 2 || frame[5] != (byte)MasterMessage.BodyOneofCase.Bundle) return frame;
            if (MasterMessage.Parser.ParseFrom(frame.AsSpan(Protocol.HeaderBytes)).Bundle.Exchange != 6) return frame;
            clients[2].Kill();
            return null; // cut: client 2 is gone in round 4
        };
        clients = deployment.StartPrivateClients(proxy.Port);
        if (policy == "fail")
        {
            Assert.That(master.WaitForExit(), Is.EqualTo(1), deployment.Logs());
            Assert.That(master.Errors, Does.Contain("client 2").And.Contain("lost"), deployment.Logs());
            foreach (var c in clients[..2])
            {
                Assert.That(c.WaitForExit(), Is.EqualTo(1), deployment.Logs());
                Assert.That(c.Errors, Does.Contain("the relay stopped the run").And.Contain("client 2"), deployment.Logs());
            }
            return;
        }
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in clients[..2]) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        var (first, second) = (deployment.ClientHistory(0), deployment.ClientHistory(1));
        Deployment.AssertSameHistory(first, second, deployment.Logs());
        Assert.That(first[^1].MissingClients, Is.EqualTo(new[] { 2 }), "the history names the lost client");
        Assert.That(first[^1].GradientNorm, Is.LessThan(0.1 * first[0].GradientNorm), "the others went on");
    }

    [Test]
    public void A_private_run_resumes_from_the_clients_checkpoints()
    {
        var (args, options) = Training(Algorithm.FedNLLineSearch, CompressorKind.PermK, 2, rounds: 16);
        var (firstArgs, _) = Training(Algorithm.FedNLLineSearch, CompressorKind.PermK, 2, rounds: 7);
        using var deployment = new Deployment(Clients);
        string relayCheckpoint = Path.Combine(deployment.Folder.Path, "relay.ckp");
        string[] ClientCheckpoint(int i) => ["--checkpoint", Path.Combine(deployment.Folder.Path, $"client-{i}.ckp")];

        var first = deployment.StartPrivateMaster(0, firstArgs, "--checkpoint", relayCheckpoint);
        var firstClients = deployment.StartPrivateClients(first.ListeningPort(), i => [.. ClientCheckpoint(i), "--checkpoint-every", "3"]);
        Assert.That(first.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in firstClients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());

        var second = deployment.StartPrivateMaster(0, args, "--checkpoint", relayCheckpoint, "--resume");
        var secondClients = deployment.StartPrivateClients(second.ListeningPort(), i => [.. ClientCheckpoint(i), "--resume"]);
        Assert.That(second.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var c in secondClients) Assert.That(c.WaitForExit(), Is.Zero, deployment.Logs());
        Assert.That(secondClients[0].Errors, Does.Contain("resumed private run"), deployment.Logs());
        var expected = Deployment.SingleNode(options);
        for (int i = 0; i < Clients; i++)
            Deployment.AssertSameHistory(expected.History, deployment.ClientHistory(i), $"client {i}\n{deployment.Logs()}");
    }

    /// <summary>A framed message (header and envelope) for the proxy to forward.</summary>
    private static byte[] Frame(MasterMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[Protocol.HeaderBytes + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)body.Length);
        frame[4] = Protocol.Version;
        frame[5] = (byte)message.BodyCase;
        body.CopyTo(frame, Protocol.HeaderBytes);
        return frame;
    }
}

/// <summary>Searches a process's readable memory (through /proc, as its parent may) for a byte string.</summary>
internal static class ProcessMemory
{
    public static bool Contains(int pid, byte[] needle)
    {
        using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
        var buffer = new byte[1 << 20];
        int regions = 0;
        foreach (var line in File.ReadAllLines($"/proc/{pid}/maps"))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[1][0] != 'r' || line.EndsWith("[vvar]", StringComparison.Ordinal) || line.EndsWith("[vsyscall]", StringComparison.Ordinal)) continue;
            var range = fields[0].Split('-');
            long start = Convert.ToInt64(range[0], 16), end = Convert.ToInt64(range[1], 16);
            // overlapping chunks, so a needle across a chunk boundary is found
            for (long at = start; at < end; at += buffer.Length - needle.Length)
            {
                int length = (int)Math.Min(buffer.Length, end - at);
                int read;
                try
                {
                    mem.Seek(at, SeekOrigin.Begin);
                    read = mem.ReadAtLeast(buffer.AsSpan(0, length), length, throwOnEndOfStream: false);
                }
                catch (IOException)
                {
                    break; // a mapping that cannot be read (e.g. guard pages)
                }
                regions++;
                if (buffer.AsSpan(0, read).IndexOf(needle) >= 0) return true;
                if (length < buffer.Length) break;
            }
        }
        Assert.That(regions, Is.GreaterThan(10), $"read the memory of process {pid}");
        return false;
    }
}
