using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Fednl.Compression;
using Fednl.Network;
using Fednl.Network.Grpc;
using Fednl.Network.Wire;
using Wire = Fednl.Network.Wire;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fednl.Tests.Network;

/// <summary>
/// The gRPC engine on loopback, in-process: the master's host and clients exchange the .proto messages over mutual
/// TLS or h2c; strangers are refused with a logged reason; sizes are checked before parsing; a vanished peer ends
/// its session. Waits are generous (a loaded 2-core machine); nothing here asserts a duration.
/// </summary>
[NonParallelizable]
public sealed class GrpcEngineTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private TempFolder _folder = null!;
    private string Certs => Path.Combine(_folder.Path, "certs");
    private string OtherCerts => Path.Combine(_folder.Path, "other");

    [OneTimeSetUp]
    public void CreateCertificates()
    {
        _folder = TestData.TempFolder();
        CertificateAuthority.CreateDeployment(Certs, 3, ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
        CertificateAuthority.CreateDeployment(OtherCerts, 1, ["localhost", "127.0.0.1"], TimeSpan.FromDays(1));
    }

    [OneTimeTearDown]
    public void RemoveCertificates() => _folder.Dispose();

    /// <summary>Log lines of a host, safe to add to from any thread.</summary>
    private sealed class Log
    {
        private readonly ConcurrentQueue<string> _lines = new();
        public void Add(string line) => _lines.Enqueue(line);
        public string Text => string.Join("\n", _lines);

        public async Task WaitForAsync(string text)
        {
            using var timeout = new CancellationTokenSource(Wait);
            while (!Text.Contains(text, StringComparison.Ordinal))
            {
                if (timeout.IsCancellationRequested) Assert.Fail($"the master's log never said '{text}'; it said:\n{Text}");
                await Task.Delay(50, CancellationToken.None);
            }
        }
    }

    private static Task<GrpcMasterHost> StartHost(TlsSettings? tls, Log log, Func<GrpcPeer, Task> onSession, TimeSpan? keepAlive = null) =>
        GrpcMasterHost.StartAsync(new GrpcHostOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Tls = tls,
            Log = log.Add,
            MaxDimension = 400,
            KeepAlivePingDelay = keepAlive ?? TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = keepAlive ?? TimeSpan.FromSeconds(20),
            HandshakeTimeout = Wait,
        }, onSession, CancellationToken.None);

    private static GrpcClientOptions ClientOptions(int port, TlsSettings? tls) => new()
    {
        MasterHost = "127.0.0.1",
        MasterPort = port,
        Tls = tls,
        MaxDimension = 400,
        ConnectTimeout = Wait,
    };

    private static ByteString Doubles(int count, double scale)
    {
        var bytes = new byte[8 * count];
        for (int i = 0; i < count; i++) BitConverter.TryWriteBytes(bytes.AsSpan(8 * i), scale * (i + 1));
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static readonly CompressorSpec Spec = new(CompressorKind.RandSeqK, 301, 1);

    /// <summary>The master's side of a short exchange: Hello → Welcome, then one Round answered by an Update.</summary>
    private static async Task ServeOneRound(GrpcPeer peer, ConcurrentDictionary<int, (int CertificateId, Update Update, long Sent, long Received)> seen)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var hello = (await peer.ReceiveAsync(timeout.Token)).Parse(ClientMessage.Parser, "message").Hello;
        peer.Peer = $"client {hello.ClientId} ({peer.RemoteAddress})";
        await peer.SendAsync(new MasterMessage { Welcome = new Wire.Welcome { ProtocolVersion = 3, Features = Spec.Dimension, Clients = 3 } }, timeout.Token);
        peer.Limits.UseMasterRunLimits(Spec);
        await peer.SendAsync(new MasterMessage { Round = new Round { Index = 1, Alpha = 1, Model = Doubles(Spec.Dimension, hello.ClientId) } }, timeout.Token);
        var update = (await peer.ReceiveAsync(timeout.Token)).Parse(ClientMessage.Parser, "message").Update;
        seen[hello.ClientId] = (peer.CertificateClientId, update, peer.BytesSent, peer.BytesReceived);
        peer.Close();
    }

    /// <summary>A client's side of <see cref="ServeOneRound"/>: returns the model it got.</summary>
    private static async Task<(ByteString Model, long Sent, long Received)> ClientOneRound(int port, TlsSettings? tls, int id)
    {
        using var timeout = new CancellationTokenSource(Wait);
        await using var connection = await GrpcClientConnection.ConnectAsync(ClientOptions(port, tls), timeout.Token);
        await connection.SendAsync(new ClientMessage { Hello = new Wire.Hello { ProtocolVersion = 3, ClientId = id, Features = Spec.Dimension } }, timeout.Token);
        var welcome = (await connection.ReceiveAsync(timeout.Token)).Welcome;
        Assert.That(welcome.Features, Is.EqualTo(Spec.Dimension));
        connection.Limits.UseClientRunLimits(Spec);
        var round = (await connection.ReceiveAsync(timeout.Token)).Round;
        await connection.SendAsync(new ClientMessage
        {
            Update = new Update { Round = round.Index, Loss = id, Gradient = Doubles(Spec.Dimension, -id), Count = (int)Spec.K, Values = Doubles((int)Spec.K, 0.5 * id) },
        }, timeout.Token);
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await connection.ReceiveAsync(timeout.Token), "the master closed the session normally");
        return (round.Model, connection.BytesSent, connection.BytesReceived);
    }

    [Test]
    public async Task Master_and_clients_exchange_messages_over_mutual_tls_and_the_certificate_names_the_id()
    {
        var log = new Log();
        using var masterTls = TlsSettings.ForMaster(Certs);
        var seen = new ConcurrentDictionary<int, (int CertificateId, Update Update, long Sent, long Received)>();
        await using var host = await StartHost(masterTls, log, peer => ServeOneRound(peer, seen));
        var clientTls = Enumerable.Range(0, 3).Select(i => TlsSettings.ForClient(Certs, i)).ToArray();
        try
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => ClientOneRound(host.Endpoint.Port, clientTls[i], i)));
            for (int i = 0; i < 3; i++)
            {
                Assert.That(results[i].Model, Is.EqualTo(Doubles(Spec.Dimension, i)), $"client {i}'s model");
                var (certificateId, update, sent, received) = seen[i];
                Assert.That(certificateId, Is.EqualTo(i), "the certificate's client id");
                Assert.That(update.Gradient, Is.EqualTo(Doubles(Spec.Dimension, -i)));
                Assert.That(update.Values, Is.EqualTo(Doubles((int)Spec.K, 0.5 * i)));
                Assert.That(update.Loss, Is.EqualTo((double)i));
                Assert.That(received, Is.EqualTo(results[i].Sent), "bytes the master received = bytes the client sent");
                Assert.That(sent, Is.EqualTo(results[i].Received), "bytes the master sent = bytes the client received");
                Assert.That(received, Is.GreaterThan(8L * (Spec.Dimension + Spec.K)));
            }
            Assert.That(log.Text, Is.Empty, "no warnings on a clean exchange");
        }
        finally
        {
            foreach (var tls in clientTls) tls.Dispose();
        }
    }

    [Test]
    public async Task A_client_without_a_certificate_is_refused_and_the_master_logs_why()
    {
        var log = new Log();
        using var masterTls = TlsSettings.ForMaster(Certs);
        int sessions = 0;
        await using var host = await StartHost(masterTls, log, _ => { Interlocked.Increment(ref sessions); return Task.CompletedTask; });
        using var clientTls = TlsSettings.ForClient(Certs, 0);
        // A client that trusts the master but presents no certificate of its own.
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => clientTls.IsIssuedByAuthority(certificate, out _),
            },
        };
        using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{host.Endpoint.Port}", new GrpcChannelOptions { HttpHandler = handler });
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(
            new Method<byte[], byte[]>(MethodType.DuplexStreaming, "fednl.v3.Federation", "Session", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b)),
            null, new CallOptions(deadline: DateTime.UtcNow + Wait));
        await Assert.CatchAsync<RpcException>(async () => await call.ResponseHeadersAsync, "the master must refuse a client without a certificate");
        await log.WaitForAsync("TLS refused: client certificate missing");
        Assert.That(sessions, Is.Zero, "no session for a refused client");
    }

    [Test]
    public async Task A_client_certificate_from_another_ca_is_refused_and_the_master_logs_why()
    {
        var log = new Log();
        using var masterTls = TlsSettings.ForMaster(Certs);
        int sessions = 0;
        await using var host = await StartHost(masterTls, log, _ => { Interlocked.Increment(ref sessions); return Task.CompletedTask; });
        // Trusts the run's CA (so it accepts the master), but its certificate was issued by another CA.
        using var stranger = TlsSettings.Load(Path.Combine(Certs, CertificateAuthority.CaFile),
            Path.Combine(OtherCerts, CertificateAuthority.ClientFile(0)), Path.Combine(OtherCerts, CertificateAuthority.ClientKeyFile(0)));
        var e = await Assert.CatchAsync<IOException>(async () => await GrpcClientConnection.ConnectAsync(ClientOptions(host.Endpoint.Port, stranger), CancellationToken.None));
        Assert.That(e!.Message, Does.Contain($"127.0.0.1:{host.Endpoint.Port}"), "the client's error names the master");
        await log.WaitForAsync("TLS refused: client certificate 'CN=fednl-client-0'");
        Assert.That(log.Text, Does.Contain("issuer"), "the log names the chain problem");
        Assert.That(sessions, Is.Zero, "no session for a refused client");
    }

    [Test]
    public async Task An_oversized_message_is_refused_before_parsing_with_its_size_and_the_limit()
    {
        var log = new Log();
        var errors = new ConcurrentQueue<Exception>();
        await using var host = await StartHost(null, log, async peer =>
        {
            using var timeout = new CancellationTokenSource(Wait);
            try
            {
                await peer.ReceiveAsync(timeout.Token);
                Assert.Fail("garbage was parsed");
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
            peer.Close(StatusCode.InvalidArgument, "refused");
        });
        // Raw bytes that are not a ClientMessage: only a length check can tell them apart without parsing.
        var raw = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "fednl.v3.Federation", "Session", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.Endpoint.Port}");
        async Task Send(byte[] payload)
        {
            using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(raw, null, new CallOptions(deadline: DateTime.UtcNow + Wait));
            await call.RequestStream.WriteAsync(payload);
            await Assert.CatchAsync<RpcException>(async () => await call.ResponseStream.MoveNext(), "the master ends the session");
        }
        var garbage = new byte[Protocol.HandshakeLimit + 1];
        Array.Fill(garbage, (byte)0xFF);
        await Send(garbage);
        await Send(garbage[..100]);
        Assert.That(errors, Has.Count.EqualTo(2));
        var oversized = errors.ElementAt(0) as ProtocolException;
        Assert.That(oversized?.Code, Is.EqualTo(ProtocolError.Oversized), errors.ElementAt(0).ToString());
        Assert.That(oversized!.Message, Does.Contain($"ClientMessage of {Protocol.HandshakeLimit + 1} bytes").And.Contain($"limit of {Protocol.HandshakeLimit} bytes")
            .And.Contain("handshake").And.Contain("before parsing"));
        var malformed = errors.ElementAt(1) as ProtocolException;
        Assert.That(malformed?.Code, Is.EqualTo(ProtocolError.MalformedFrame), "the short garbage reached the parser: " + errors.ElementAt(1));
        Assert.That(malformed!.Message, Does.Contain("ClientMessage of 100 bytes"));
    }

    [Test]
    public async Task Limits_grow_with_d_and_the_client_refuses_an_oversized_master_message()
    {
        var log = new Log();
        await using var host = await StartHost(null, log, async peer =>
        {
            using var timeout = new CancellationTokenSource(Wait);
            await peer.ReceiveAsync(timeout.Token);
            await Assert.ThrowsAsync<InvalidOperationException>(async () =>
                await peer.SendAsync(new MasterMessage { Initialize = new Initialize { Model = Doubles(1000, 1) } }, timeout.Token), "over the master's own handshake send limit");
            peer.Limits.UseMasterRunLimits(Spec);
            // The client is still at its handshake limit: a run-sized message must be refused there.
            await peer.SendAsync(new MasterMessage { Initialize = new Initialize { Model = Doubles(1000, 1) } }, timeout.Token);
            await peer.Completion;
        });
        using var timeout = new CancellationTokenSource(Wait);
        await using var connection = await GrpcClientConnection.ConnectAsync(ClientOptions(host.Endpoint.Port, null), timeout.Token);
        Assert.That(connection.Limits.Receive, Is.EqualTo(Protocol.HandshakeLimit));
        await connection.SendAsync(new ClientMessage { Hello = new Wire.Hello { ClientId = 0 } }, timeout.Token);
        var e = await Assert.CatchAsync<ProtocolException>(async () => await connection.ReceiveAsync(timeout.Token));
        Assert.That(e!.Code, Is.EqualTo(ProtocolError.Oversized));
        int size = new MasterMessage { Initialize = new Initialize { Model = Doubles(1000, 1) } }.CalculateSize();
        Assert.That(e.Message, Does.Contain($"MasterMessage of {size} bytes").And.Contain($"limit of {Protocol.HandshakeLimit} bytes"));

        connection.Limits.UseClientRunLimits(Spec);
        Assert.That(connection.Limits.Receive, Is.EqualTo(Protocol.MasterFrameLimit(Spec.Dimension)));
        Assert.That(connection.Limits.Send, Is.EqualTo(Protocol.ClientFrameLimit(Spec)));
        Assert.That(GrpcMessageLimits.Ceiling(Spec.Dimension), Is.GreaterThanOrEqualTo(Protocol.ClientFrameLimit(new CompressorSpec(CompressorKind.Identical, Spec.Dimension, 1))));
    }

    [Test]
    public void The_buffer_pool_hands_out_whole_pinned_blocks_and_takes_each_back_once()
    {
        using var pool = new BlockMemoryPoolFactory(32 << 10).Create();
        Assert.That(pool.MaxBufferSize, Is.EqualTo(32 << 10));
        var first = pool.Rent(1);
        Assert.That(first.Memory.Length, Is.EqualTo(32 << 10), "any rent gets a whole block");
        var second = pool.Rent();
        Assert.That(second, Is.Not.SameAs(first));
        first.Dispose();
        first.Dispose(); // a second dispose of the same lease gives nothing back twice
        var again = pool.Rent(4096);
        Assert.That(again, Is.SameAs(first), "a returned block is reused");
        Assert.That(pool.Rent(), Is.Not.SameAs(first), "returned once, handed out once");
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent((32 << 10) + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockMemoryPoolFactory(4096));
    }

    [Test]
    public async Task Dense_updates_spanning_many_buffer_blocks_arrive_intact_round_after_round()
    {
        // Identical at d = 301: 45451 values, 363 KB a message, a dozen 32 KiB blocks in every pipe on the way.
        var spec = new CompressorSpec(CompressorKind.Identical, 301, 1);
        const int rounds = 4;
        var log = new Log();
        using var masterTls = TlsSettings.ForMaster(Certs);
        var received = new ConcurrentDictionary<(int Client, int Round), ByteString>();
        await using var host = await StartHost(masterTls, log, async peer =>
        {
            using var timeout = new CancellationTokenSource(Wait);
            peer.Limits.UseMasterRunLimits(spec);
            for (int r = 0; r < rounds; r++)
            {
                await peer.SendAsync(new MasterMessage { Round = new Round { Index = r, Alpha = 1, Model = Doubles(spec.Dimension, r) } }, timeout.Token);
                var update = (await peer.ReceiveAsync(timeout.Token)).Parse(ClientMessage.Parser, "message").Update;
                received[(peer.CertificateClientId, update.Round)] = update.Values;
            }
            peer.Close();
        });
        var clientTls = Enumerable.Range(0, 2).Select(i => TlsSettings.ForClient(Certs, i)).ToArray();
        try
        {
            await Task.WhenAll(Enumerable.Range(0, 2).Select(async id =>
            {
                using var timeout = new CancellationTokenSource(Wait);
                await using var connection = await GrpcClientConnection.ConnectAsync(ClientOptions(host.Endpoint.Port, clientTls[id]), timeout.Token);
                connection.Limits.UseClientRunLimits(spec);
                for (int r = 0; r < rounds; r++)
                {
                    var round = (await connection.ReceiveAsync(timeout.Token)).Round;
                    await connection.SendAsync(new ClientMessage
                    {
                        Update = new Update { Round = round.Index, Gradient = Doubles(spec.Dimension, 1), Count = (int)spec.K, Values = Doubles((int)spec.K, 10 * id + round.Index + 1) },
                    }, timeout.Token);
                }
                await Assert.ThrowsAsync<EndOfStreamException>(async () => await connection.ReceiveAsync(timeout.Token));
            }));
            for (int id = 0; id < 2; id++)
                for (int r = 0; r < rounds; r++)
                    Assert.That(received[(id, r)], Is.EqualTo(Doubles((int)spec.K, 10 * id + r + 1)), $"client {id}'s update of round {r}");
            Assert.That(log.Text, Is.Empty);
        }
        finally
        {
            foreach (var tls in clientTls) tls.Dispose();
        }
    }

    [Test]
    public void The_largest_update_of_a_run_fits_its_limit()
    {
        // Identical at d = 301: every one of D values, the gradient, every optional scalar, and the largest varints.
        var spec = new CompressorSpec(CompressorKind.Identical, 301, 1);
        var update = new ClientMessage
        {
            Update = new Update
            {
                Round = int.MaxValue, Loss = -0.0, DifferenceNorm = double.MaxValue, DifferenceNormDelta = double.Epsilon, Count = int.MaxValue,
                Gradient = Doubles(spec.Dimension, 1), Values = Doubles((int)spec.K, 1),
            },
        };
        var initial = new ClientMessage { InitialState = new InitialState { Shift = Doubles((int)spec.PackedLength, 1), GradientTerm = Doubles(spec.Dimension, 1) } };
        Assert.That(update.CalculateSize(), Is.LessThanOrEqualTo(Protocol.ClientFrameLimit(spec)));
        Assert.That(initial.CalculateSize(), Is.LessThanOrEqualTo(Protocol.ClientFrameLimit(spec)));
        var restore = new MasterMessage
        {
            Restore = new Restore { Round = int.MaxValue, PartialParticipation = true, DifferenceNorm = 1, Shift = Doubles((int)spec.PackedLength, 1), LocalModel = Doubles(spec.Dimension, 1) },
        };
        Assert.That(restore.CalculateSize(), Is.LessThanOrEqualTo(Protocol.MasterFrameLimit(spec.Dimension)));
    }

    [Test]
    public async Task A_client_whose_connection_is_cut_ends_its_session_on_the_master()
    {
        var log = new Log();
        var sessions = new ConcurrentQueue<GrpcPeer>();
        await using var host = await StartHost(null, log, peer => { sessions.Enqueue(peer); return Task.CompletedTask; });
        using var proxy = new LoopbackProxy(host.Endpoint.Port);
        using var timeout = new CancellationTokenSource(Wait);
        await using var connection = await GrpcClientConnection.ConnectAsync(ClientOptions(proxy.Port, null), timeout.Token);
        Assert.That(sessions.TryPeek(out var peer), "the master has the session");
        var pending = peer!.ReceiveAsync(timeout.Token).AsTask();
        proxy.Cut(); // the client's host is gone: both sockets reset
        await Assert.CatchAsync<IOException>(async () => await pending);
        Assert.That(await Task.WhenAny(peer.Completion, Task.Delay(Wait)), Is.SameAs(peer.Completion), "the session completed");
        Assert.That(peer.Aborted.IsCancellationRequested);
    }

    [Test]
    public async Task A_silent_client_is_found_by_keepalive_pings_and_its_session_ends()
    {
        var log = new Log();
        var sessions = new ConcurrentQueue<GrpcPeer>();
        await using var host = await StartHost(null, log, peer => { sessions.Enqueue(peer); return Task.CompletedTask; }, keepAlive: TimeSpan.FromSeconds(1));
        using var proxy = new LoopbackProxy(host.Endpoint.Port);
        using var timeout = new CancellationTokenSource(Wait);
        await using var connection = await GrpcClientConnection.ConnectAsync(ClientOptions(proxy.Port, null) with
        {
            KeepAlivePingDelay = Timeout.InfiniteTimeSpan, // the client pings nothing: only the master's pings can find the freeze
        }, timeout.Token);
        Assert.That(sessions.TryPeek(out var peer), "the master has the session");
        proxy.Freeze(); // the network stops carrying bytes; no socket closes
        Assert.That(await Task.WhenAny(peer!.Completion, Task.Delay(Wait)), Is.SameAs(peer.Completion), "the master's keepalive ended the session");
        Assert.That(peer.Aborted.IsCancellationRequested);
        await Assert.CatchAsync<IOException>(async () => await peer.ReceiveAsync(timeout.Token));
    }

    [Test]
    public async Task Insecure_h2c_works_and_the_framework_writes_nothing_to_stdout()
    {
        var stdout = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            var log = new Log();
            var seen = new ConcurrentDictionary<int, (int CertificateId, Update Update, long Sent, long Received)>();
            await using (var host = await StartHost(null, log, peer => ServeOneRound(peer, seen)))
            {
                var result = await ClientOneRound(host.Endpoint.Port, null, 2);
                Assert.That(result.Model, Is.EqualTo(Doubles(Spec.Dimension, 2)));
                Assert.That(seen[2].CertificateId, Is.EqualTo(-1), "no certificate without TLS");
                // A TLS client at an h2c master fails with a clear error and no output.
                using var clientTls = TlsSettings.ForClient(Certs, 0);
                await Assert.CatchAsync<IOException>(async () => await GrpcClientConnection.ConnectAsync(ClientOptions(host.Endpoint.Port, clientTls), CancellationToken.None));
            }
        }
        finally
        {
            Console.SetOut(stdout);
        }
        Assert.That(captured.ToString(), Is.Empty, "nothing on stdout from Kestrel, ASP.NET Core or gRPC");
    }

    [Test]
    public void The_method_is_the_one_the_proto_defines()
    {
        Assert.That(Federation.Descriptor.FullName, Is.EqualTo("fednl.v3.Federation"));
        Assert.That(Federation.Descriptor.Methods.Single().Name, Is.EqualTo("Session"));
        Assert.That(Federation.Descriptor.Methods.Single().IsClientStreaming && Federation.Descriptor.Methods.Single().IsServerStreaming);
    }

    /// <summary>A byte-forwarding TCP proxy on loopback that can cut (reset) or freeze (stop forwarding, sockets open) every connection.</summary>
    private sealed class LoopbackProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly ConcurrentQueue<Socket> _sockets = new();
        private readonly CancellationTokenSource _stop = new();
        private volatile bool _frozen;

        public LoopbackProxy(int upstreamPort)
        {
            _listener.Start();
            _ = AcceptAsync(upstreamPort);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private async Task AcceptAsync(int upstreamPort)
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptSocketAsync(_stop.Token);
                    var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, upstreamPort), _stop.Token);
                    _sockets.Enqueue(client);
                    _sockets.Enqueue(upstream);
                    _ = PumpAsync(client, upstream);
                    _ = PumpAsync(upstream, client);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task PumpAsync(Socket from, Socket to)
        {
            var buffer = new byte[64 << 10];
            try
            {
                while (true)
                {
                    int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (n == 0 || _frozen) { if (_frozen) await Task.Delay(Timeout.Infinite, _stop.Token); return; }
                    await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        /// <summary>Stops forwarding; every socket stays open (a partitioned network, a hung host).</summary>
        public void Freeze() => _frozen = true;

        /// <summary>Resets every connection at once.</summary>
        public void Cut()
        {
            foreach (var socket in _sockets)
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            Cut();
            _stop.Dispose();
        }
    }
}
