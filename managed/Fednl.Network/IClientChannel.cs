using Fednl.Compression;
using Fednl.Network.Wire;

namespace Fednl.Network;

/// <summary>
/// The master's connection to one client, whatever carries it: a framed TCP/TLS stream (<see cref="ClientConnection"/>)
/// or a gRPC session (<see cref="Grpc.GrpcPeer"/>). Admission, the lobby and the round exchanges are written once
/// against it. One receive and one send may be pending at a time.
/// </summary>
public interface IClientChannel : IAsyncDisposable, IDisposable
{
    /// <summary>Who is on the other end, for log lines: "client 3 (10.0.0.5:40112)".</summary>
    string Peer { get; set; }

    /// <summary>Bytes of the messages sent and received so far.</summary>
    long BytesSent { get; }

    /// <inheritdoc cref="BytesSent"/>
    long BytesReceived { get; }

    /// <summary>True once the peer has gone (closed its side, reset, or the session ended); false while it may still answer.</summary>
    bool HasClosed { get; }

    /// <summary>Raises the size limits from the handshake's to the run's (d and the compressor known).</summary>
    void UseRunLimits(CompressorSpec spec);

    /// <summary>Sends one message.</summary>
    ValueTask SendAsync(MasterMessage message, CancellationToken token);

    /// <summary>Sends a request prepared once for many clients (e.g. the round's model).</summary>
    ValueTask SendAsync(PreparedRequest request, CancellationToken token);

    /// <summary>
    /// The next message, parsed only as far as its envelope (valid until the next receive). Throws
    /// <see cref="ProtocolException"/> for a message over the limit (before it is read) or one that does not parse,
    /// <see cref="PeerRefusedException"/> for an Error from the peer, and <see cref="IOException"/> (or
    /// <see cref="EndOfStreamException"/>) when the connection is gone.
    /// </summary>
    ValueTask<RawEnvelope> ReceiveAsync(CancellationToken token);

    /// <summary>Best effort: tells the peer why it is being dropped. Never throws.</summary>
    Task TrySendErrorAsync(ProtocolError code, string message, TimeSpan timeout);

    /// <summary>Best effort shutdown notice (<paramref name="failed"/>: the run stopped on a failure). Never throws.</summary>
    Task TrySendShutdownAsync(bool failed, string reason, TimeSpan timeout);
}

/// <summary>A client's connection to the master (framed <see cref="MasterConnection"/> or <see cref="Grpc.GrpcClientConnection"/>).</summary>
public interface IMasterChannel : IAsyncDisposable
{
    /// <summary>The master, for log lines.</summary>
    string Peer { get; }

    /// <summary>Raises the size limits from the handshake's to the run's.</summary>
    void UseRunLimits(CompressorSpec spec);

    /// <summary>Sends one message.</summary>
    ValueTask SendAsync(ClientMessage message, CancellationToken token);

    /// <summary>The next message; an Error from the master throws <see cref="PeerRefusedException"/>.</summary>
    ValueTask<MasterMessage> ReceiveAsync(CancellationToken token);
}

/// <summary>
/// A request that goes to many clients alike: the message, and its frame serialised once for the framed engine
/// (header included). The gRPC engine writes the message itself. Valid until the next request is prepared.
/// </summary>
public sealed class PreparedRequest(int dimension)
{
    private readonly byte[] _frame = new byte[Protocol.BroadcastFrameBytes(dimension)];
    private int _length;

    /// <summary>The message (its vectors wrap the caller's buffers).</summary>
    public MasterMessage Message { get; private set; } = new();

    /// <summary>The whole frame: header and envelope.</summary>
    public ReadOnlyMemory<byte> Frame => _frame.AsMemory(0, _length);

    /// <summary>Takes <paramref name="message"/> as the request and serialises its frame.</summary>
    public void Prepare(MasterMessage message)
    {
        Message = message;
        _length = ClientConnection.Prepare(message, _frame);
    }
}
