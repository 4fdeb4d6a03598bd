using System.Net.Security;
using System.Security.Authentication;
using Fednl.Network.Wire;
using global::Grpc.Core;
using global::Grpc.Net.Client;

namespace Fednl.Network.Grpc;

/// <summary>How a client reaches the master's gRPC endpoint.</summary>
public sealed record GrpcClientOptions
{
    public required string MasterHost { get; init; }
    public required int MasterPort { get; init; }

    /// <summary>Mutual TLS (this client's certificate, the run's CA; the master's name is checked); null is h2c (--insecure).</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>The largest d the client will accept; the framework refuses any message above <see cref="GrpcMessageLimits.Ceiling"/> of it unread.</summary>
    public int MaxDimension { get; init; } = 4096;

    /// <summary>The TCP connect, TLS handshake and the master's opening of the session must finish within this.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle time before the client pings the connection.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection whose ping is not answered within this is closed (the master vanished).</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>HTTP/2 receive window of the stream, bytes (the master's largest message, a state transfer, fits). .NET's default is 64 KiB.</summary>
    public int InitialStreamWindowSize { get; init; } = 2 << 20;
}

/// <summary>
/// A client's session with the master over gRPC: one bidirectional <c>Session</c> stream on its own HTTP/2
/// connection (SocketsHttpHandler), mutual TLS trusting only the run's CA, keepalive pings. Received
/// <see cref="MasterMessage"/>s are size-checked before parsing against <see cref="Limits"/>. One send and one
/// receive may be pending at a time.
/// </summary>
public sealed class GrpcClientConnection : IMasterChannel
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<ClientMessage, MasterMessage> _call;
    private readonly InboundGate _gate;
    private readonly CancellationTokenSource _end;
    private long _bytesSent;

    private GrpcClientConnection(GrpcChannel channel, AsyncDuplexStreamingCall<ClientMessage, MasterMessage> call, InboundGate gate, string address,
        CancellationTokenSource end)
    {
        _end = end;
        _channel = channel;
        _call = call;
        _gate = gate;
        Address = address;
    }

    /// <summary>The master's address: "https://host:port" or "http://host:port" (h2c).</summary>
    public string Address { get; }

    /// <summary>This session's size limits: handshake-sized until raised with d and the compressor (from the Welcome).</summary>
    public GrpcMessageLimits Limits => _gate.Limits;

    /// <summary>Serialized bytes of the messages sent (gRPC's 5-byte prefix and HTTP/2 framing not counted).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Serialized bytes of the messages received.</summary>
    public long BytesReceived => Interlocked.Read(ref _gate.BytesReceived);

    /// <summary>
    /// Connects and opens the session; returns once the master has accepted the stream. Throws
    /// <see cref="IOException"/> naming the address when the master cannot be reached or refuses the connection
    /// (its log says why, e.g. a certificate its CA did not issue).
    /// </summary>
    /// <param name="options">Where the master is, TLS, limits, keepalive.</param>
    /// <param name="token">Cancels the connect; the connect timeout applies as well.</param>
    public static async Task<GrpcClientConnection> ConnectAsync(GrpcClientOptions options, CancellationToken token)
    {
        string host = options.MasterHost.Contains(':') && !options.MasterHost.StartsWith('[') ? $"[{options.MasterHost}]" : options.MasterHost;
        string address = $"{(options.Tls is null ? "http" : "https")}://{host}:{options.MasterPort}";
        int ceiling = GrpcMessageLimits.Ceiling(options.MaxDimension);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
            InitialHttp2StreamWindowSize = options.InitialStreamWindowSize,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            UseCookies = false,
        };
        if (options.Tls is { } tls)
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = options.MasterHost,
                ClientCertificates = [tls.Certificate],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                // The name must match; the chain must lead to the run's CA, not the system's roots.
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) == 0
                    && tls.IsIssuedByAuthority(certificate, out _),
            };
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = ceiling,
            MaxSendMessageSize = ceiling,
            MaxRetryAttempts = 0,
        });
        var gate = new InboundGate(new GrpcMessageLimits(), $"the master at {address}");
        var end = new CancellationTokenSource();
        AsyncDuplexStreamingCall<ClientMessage, MasterMessage>? call = null;
        try
        {
            call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(FederationMethod.ForClient(gate), null, new CallOptions(cancellationToken: end.Token));
            var connection = new GrpcClientConnection(channel, call, gate, address, end);
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(token);
            connect.CancelAfter(options.ConnectTimeout);
            try
            {
                await call.ResponseHeadersAsync.WaitAsync(connect.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new IOException($"{address}: the master did not open the session within {options.ConnectTimeout.TotalSeconds:0.#} s");
            }
            catch (RpcException e) when (e.Status.DebugException is { } inner && Innermost(inner) is System.Net.Sockets.SocketException)
            {
                throw new IOException($"{address}: cannot reach the master: {Describe(e)}", e);
            }
            catch (RpcException e)
            {
                // The connection opened and the master closed it (a refused certificate) or reset the stream.
                throw new MasterClosedException(clock.Elapsed, $"{address}: cannot open a session with the master: {Describe(e)}" +
                                      (options.Tls is null
                                          ? " (see its log; a master that runs TLS closes plain TCP clients: drop --insecure and give --certs DIR)"
                                          : " (see its log: it refuses a certificate its CA did not issue)"), e);
            }
            return connection;
        }
        catch
        {
            end.Cancel();
            call?.Dispose();
            channel.Dispose();
            end.Dispose();
            throw;
        }
    }

    /// <summary>Sends one message. Throws <see cref="IOException"/> when the session is over or the connection lost.</summary>
    /// <param name="message">The message; its size is checked against <see cref="GrpcMessageLimits.Send"/>.</param>
    /// <param name="token">Cancels the send (the session is then unusable).</param>
    public async ValueTask SendAsync(ClientMessage message, CancellationToken token)
    {
        int size = FederationMethod.CheckSend(message, message.BodyCase, Limits, Address);
        try
        {
            await _call.RequestStream.WriteAsync(message, token).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw new IOException($"{Address}: the session ended: {Describe(e)}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new IOException($"{Address}: the session ended: {e.Message}", e);
        }
        Interlocked.Add(ref _bytesSent, size);
    }

    /// <summary>
    /// The next message. Throws <see cref="ProtocolException"/> for a message over the limit (before parsing) or one
    /// that does not parse, <see cref="EndOfStreamException"/> when the master ended the session normally, and
    /// <see cref="IOException"/> with the master's status when it ended it otherwise or the connection was lost.
    /// </summary>
    /// <param name="token">Cancels the wait (the session is then unusable).</param>
    public async ValueTask<MasterMessage> ReceiveAsync(CancellationToken token)
    {
        bool more;
        try
        {
            more = await _call.ResponseStream.MoveNext(token).ConfigureAwait(false);
        }
        catch (Exception) when (_gate.Refusal is { } refusal)
        {
            throw new ProtocolException(refusal.Code, refusal.Message);
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled || !token.IsCancellationRequested)
        {
            throw new IOException($"{Address}: the session ended: {Describe(e)}", e);
        }
        catch (RpcException) when (token.IsCancellationRequested)
        {
            throw new OperationCanceledException(token);
        }
        if (!more) throw new EndOfStreamException($"{Address}: the master ended the session");
        var message = _call.ResponseStream.Current;
        if (message.ErrorBody is { } error) throw new PeerRefusedException((ProtocolError)error.Code, error.Message);
        return message;
    }

    /// <summary>The master, for log lines.</summary>
    public string Peer => $"master {Address}";

    /// <summary>Raises the limits to the run's: d and the compressor known.</summary>
    public void UseRunLimits(Fednl.Compression.CompressorSpec spec) => Limits.UseClientRunLimits(spec);

    /// <summary>Tells the master this client sends nothing more (its stream ends); receiving goes on.</summary>
    public async Task CompleteAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw new IOException($"{Address}: the session ended: {Describe(e)}", e);
        }
    }

    private static string Describe(RpcException e) =>
        e.Status.DebugException is { } inner ? $"{e.Status.StatusCode}: {e.Status.Detail} ({Innermost(inner).Message})" : $"{e.Status.StatusCode}: {e.Status.Detail}";

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner) e = inner;
        return e;
    }

    /// <summary>Cancels the call (the master sees the stream reset) and closes the connection.</summary>
    public ValueTask DisposeAsync()
    {
        _end.Cancel();
        _call.Dispose();
        _channel.Dispose();
        _end.Dispose();
        return ValueTask.CompletedTask;
    }
}
