using Fednl.Network.Wire;
using global::Grpc.Core;

namespace Fednl.Network.Grpc;

/// <summary>
/// One client's session on the master: the bidirectional <c>Session</c> stream it opened. Receives
/// <see cref="ClientMessage"/>s (size-checked before parsing against <see cref="Limits"/>), sends
/// <see cref="MasterMessage"/>s, and ends when the master calls <see cref="Close()"/> or the peer vanishes
/// (<see cref="Aborted"/>; a silent peer is found by keepalive pings). Sends are serialized; one receive at a time.
/// </summary>
public sealed class GrpcPeer : IClientChannel
{
    private readonly IAsyncStreamReader<RawEnvelope> _requests;
    private readonly IServerStreamWriter<MasterMessage> _responses;
    private readonly InboundGate _gate;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource<Status> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytesSent;

    internal GrpcPeer(IAsyncStreamReader<RawEnvelope> requests, IServerStreamWriter<MasterMessage> responses, int certificateClientId,
        string remoteAddress, CancellationToken aborted)
    {
        _requests = requests;
        _responses = responses;
        CertificateClientId = certificateClientId;
        RemoteAddress = remoteAddress;
        Aborted = aborted;
        _gate = new InboundGate(new GrpcMessageLimits(), remoteAddress);
    }

    /// <summary>The client id named by the peer's TLS certificate (<see cref="CertificateAuthority.ClientIdOf"/>), or −1 (no TLS, or no id in it).</summary>
    public int CertificateClientId { get; }

    /// <summary>The peer's address and port, for log lines.</summary>
    public string RemoteAddress { get; }

    /// <summary>Who this is in error messages: the address until the caller names it (e.g. "client 3 (127.0.0.1:40112)").</summary>
    public string Peer
    {
        get => _gate.Peer;
        set => _gate.Peer = value;
    }

    /// <summary>This session's size limits: handshake-sized until raised with d and the compressor.</summary>
    public GrpcMessageLimits Limits => _gate.Limits;

    /// <summary>Serialized bytes of the messages sent (gRPC's 5-byte prefix and HTTP/2 framing not counted).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Serialized bytes of the messages received, refused ones excluded.</summary>
    public long BytesReceived => Interlocked.Read(ref _gate.BytesReceived);

    /// <summary>Cancelled when the connection is gone (closed, reset, or no answer to keepalive pings) or the host stops.</summary>
    public CancellationToken Aborted { get; }

    /// <summary>Completes when the session is over: closed by <see cref="Close()"/>, or the peer vanished.</summary>
    public Task Completion => _closed.Task;

    /// <summary>
    /// The next message. Throws <see cref="ProtocolException"/> for a message over the limit (before parsing) or one
    /// that does not parse, <see cref="EndOfStreamException"/> when the client ended its stream, and
    /// <see cref="IOException"/> when the connection is lost.
    /// </summary>
    /// <param name="token">Cancels the wait (the session is then unusable: close it).</param>
    public async ValueTask<RawEnvelope> ReceiveAsync(CancellationToken token)
    {
        // The framework parses inside MoveNext, in this async flow: the marshaller finds this session's gate here.
        FederationMethod.Ambient.Value = _gate;
        bool more;
        try
        {
            more = await _requests.MoveNext(token).ConfigureAwait(false);
        }
        catch (Exception) when (_gate.Refusal is { } refusal)
        {
            throw new ProtocolException(refusal.Code, refusal.Message);
        }
        catch (Exception e) when (e is not ProtocolException && Aborted.IsCancellationRequested && !token.IsCancellationRequested)
        {
            throw new IOException($"the connection to {Peer} was lost", e);
        }
        catch (IOException e)
        {
            throw new IOException($"the connection to {Peer} was lost: {e.Message}", e);
        }
        if (!more) throw new EndOfStreamException($"{Peer} ended its stream");
        var raw = _requests.Current;
        if (raw.Kind == (int)ClientMessage.BodyOneofCase.Error && raw.Parse(ClientMessage.Parser, "ClientMessage").ErrorBody is { } error)
            throw new PeerRefusedException((ProtocolError)error.Code, error.Message);
        return raw;
    }

    /// <summary>True once the session is over or the connection is gone.</summary>
    public bool HasClosed => _closed.Task.IsCompleted || Aborted.IsCancellationRequested;

    /// <summary>Raises the limits to the run's: d and the compressor known.</summary>
    public void UseRunLimits(Fednl.Compression.CompressorSpec spec) => Limits.UseMasterRunLimits(spec);

    /// <summary>Writes the prepared request's message (the framework serialises it for this stream).</summary>
    public ValueTask SendAsync(PreparedRequest request, CancellationToken token) => SendAsync(request.Message, token);

    /// <summary>Best effort: sends an Error message. Never throws.</summary>
    public async Task TrySendErrorAsync(ProtocolError code, string message, TimeSpan timeout)
    {
        var error = new Error { Code = (int)code, Message = message.Length > 1000 ? message[..1000] : message };
        await TrySendAsync(new MasterMessage { Error = error }, timeout).ConfigureAwait(false);
    }

    /// <summary>Best effort: sends a Shutdown message. Never throws.</summary>
    public async Task TrySendShutdownAsync(bool failed, string reason, TimeSpan timeout)
    {
        var shutdown = new Shutdown { Failed = failed, Reason = reason.Length > 1000 ? reason[..1000] : reason };
        await TrySendAsync(new MasterMessage { Shutdown = shutdown }, timeout).ConfigureAwait(false);
    }

    private async Task TrySendAsync(MasterMessage message, TimeSpan timeout)
    {
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await SendAsync(message, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or RpcException)
        {
        }
    }

    /// <summary>Ends the session normally (the client's stream of master messages ends).</summary>
    public void Dispose() => Close();

    /// <inheritdoc cref="Dispose"/>
    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    /// <summary>Sends one message (serialized with other sends). Throws <see cref="IOException"/> when the connection is lost.</summary>
    /// <param name="message">The message; its size is checked against <see cref="GrpcMessageLimits.Send"/>.</param>
    /// <param name="token">Cancels the send.</param>
    public async ValueTask SendAsync(MasterMessage message, CancellationToken token)
    {
        int size = FederationMethod.CheckSend(message, message.BodyCase, Limits, Peer);
        await _sendLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (_closed.Task.IsCompleted) throw new IOException($"the session with {Peer} is closed");
            await _responses.WriteAsync(message, token).ConfigureAwait(false);
            Interlocked.Add(ref _bytesSent, size);
        }
        catch (Exception e) when (e is not IOException && Aborted.IsCancellationRequested && !token.IsCancellationRequested)
        {
            throw new IOException($"the connection to {Peer} was lost", e);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Ends the session normally (status OK): the client's stream of master messages ends.</summary>
    public void Close() => _closed.TrySetResult(Status.DefaultSuccess);

    /// <summary>Ends the session with a gRPC status, e.g. PermissionDenied with why.</summary>
    /// <param name="code">The status code the client sees.</param>
    /// <param name="detail">Why, for the client's error message.</param>
    public void Close(StatusCode code, string detail) => _closed.TrySetResult(new Status(code, detail));

    /// <summary>Waits until <see cref="Close()"/> or the peer vanishes; the status to end the call with.</summary>
    internal async Task<Status> WaitClosedAsync()
    {
        var aborted = new TaskCompletionSource<Status>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = Aborted.Register(() => aborted.TrySetResult(new Status(StatusCode.Unavailable, "connection lost")));
        var status = await (await Task.WhenAny(_closed.Task, aborted.Task).ConfigureAwait(false)).ConfigureAwait(false);
        _closed.TrySetResult(status);
        return status;
    }
}
