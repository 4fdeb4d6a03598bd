using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Network;

/// <summary>
/// A framed, checked byte stream to one peer (TLS or plain TCP) carrying the schema's envelopes: each frame is an
/// 8-byte header — payload length (u32), protocol version (u8), the envelope's body kind (u8), reserved (u16,
/// zero) — then the serialised envelope. Buffers are allocated once, at the size the protocol allows for the run's
/// dimension, so a peer cannot make us allocate more; every read checks the header (version, kind, reserved bits,
/// length against the current limit) before the payload is read or parsed.
/// </summary>
/// <typeparam name="TSend">The envelope this side sends.</typeparam>
/// <typeparam name="TReceive">The envelope the peer sends.</typeparam>
public class FrameConnection<TSend, TReceive> : IAsyncDisposable, IDisposable
    where TSend : IMessage<TSend>, IEnvelope, IEnvelopeFactory<TSend>
    where TReceive : IMessage<TReceive>, IEnvelope, IEnvelopeFactory<TReceive>
{
    private readonly Stream _stream;
    private readonly byte[] _header = new byte[Protocol.HeaderBytes];
    private readonly RawEnvelope _raw = new();
    private byte[] _receive;
    private byte[] _send;

    public FrameConnection(Stream stream, string peer)
    {
        _stream = stream;
        Peer = peer;
        _receive = new byte[Protocol.HandshakeLimit];
        _send = new byte[Protocol.HeaderBytes + Protocol.HandshakeLimit];
        ReceiveLimit = Protocol.HandshakeLimit;
    }

    /// <summary>Who is on the other end, for log lines: "client 3 (10.0.0.5:40112)".</summary>
    public string Peer { get; set; }

    /// <summary>Payloads longer than this are refused before they are read.</summary>
    public int ReceiveLimit { get; private set; }

    public long BytesSent { get; private set; }
    public long BytesReceived { get; private set; }

    /// <summary>
    /// Raises the limits once the dimension is known. The send buffer grows here; the receive buffer grows to the
    /// longest message actually received (never past the limit), so a limit sized for a rare large message (a
    /// private run's initial bundle) costs memory only when such a message comes.
    /// </summary>
    public void UseLimits(int receiveLimit, int sendLimit)
    {
        ReceiveLimit = receiveLimit;
        if (_send.Length < Protocol.HeaderBytes + sendLimit) _send = new byte[Protocol.HeaderBytes + sendLimit];
    }

    private static void WriteHeader(Span<byte> header, int kind, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payloadLength);
        header[4] = Protocol.Version;
        header[5] = (byte)kind;
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
    }

    /// <summary>Writes a whole frame (header and envelope) into <paramref name="buffer"/>; returns its length.</summary>
    public static int Prepare(TSend message, Span<byte> buffer)
    {
        int size = message.CalculateSize();
        if (size > buffer.Length - Protocol.HeaderBytes)
            throw new InvalidOperationException($"a {message.Kind} message of {size} bytes does not fit the {buffer.Length - Protocol.HeaderBytes}-byte frame buffer");
        message.WriteTo(buffer.Slice(Protocol.HeaderBytes, size));
        WriteHeader(buffer, message.Kind, size);
        return Protocol.HeaderBytes + size;
    }

    /// <summary>Serialises and sends one message.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // awaited once each: pooled, no allocation per frame
    public async ValueTask SendAsync(TSend message, CancellationToken token)
    {
        int length = Prepare(message, _send);
        await _stream.WriteAsync(_send.AsMemory(0, length), token).ConfigureAwait(false);
        await _stream.FlushAsync(token).ConfigureAwait(false);
        BytesSent += length;
    }

    /// <summary>Sends a complete frame (header included) prepared once for many peers, e.g. the round's model.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // awaited once each: pooled, no allocation per frame
    public async ValueTask SendPreparedAsync(ReadOnlyMemory<byte> frame, CancellationToken token)
    {
        await _stream.WriteAsync(frame, token).ConfigureAwait(false);
        await _stream.FlushAsync(token).ConfigureAwait(false);
        BytesSent += frame.Length;
    }

    /// <summary>
    /// True when the last header read starts like a TLS record (handshake or alert, version 3.x): the peer speaks TLS
    /// where this side speaks plain frames. Only meaningful for the first frame of a connection.
    /// </summary>
    public bool LooksLikeTls => _header[0] is 0x15 or 0x16 && _header[1] == 0x03 && _header[2] <= 0x04;

    /// <summary>
    /// Reads one message. A closed stream, a bad header, an oversized length or a payload that does not parse throws
    /// (<see cref="ProtocolException"/> carries what to tell the peer); an Error from the peer throws
    /// <see cref="PeerRefusedException"/>.
    /// </summary>
    public async ValueTask<TReceive> ReceiveAsync(CancellationToken token)
    {
        var raw = await ReceiveRawAsync(token).ConfigureAwait(false);
        return raw.Parse(TReceive.MessageParser, "message");
    }

    /// <summary>
    /// Reads one message without parsing more than its envelope: the bytes stay in this connection's buffer until
    /// the next receive. Checks as <see cref="ReceiveAsync"/> does: the header before the payload is read, the
    /// header's kind against the envelope's body, and an Error from the peer throws <see cref="PeerRefusedException"/>.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // awaited once: pooled
    public async ValueTask<RawEnvelope> ReceiveRawAsync(CancellationToken token)
    {
        await ReadExactlyAsync(_header, -1, token).ConfigureAwait(false);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_header);
        byte version = _header[4], kind = _header[5];
        ushort reserved = BinaryPrimitives.ReadUInt16LittleEndian(_header.AsSpan(6));
        if (version != Protocol.Version)
            throw new ProtocolException(ProtocolError.UnsupportedVersion,
                $"protocol version {version} is not supported (this side speaks version {Protocol.Version})");
        if (!TReceive.IsKind(kind))
            throw new ProtocolException(ProtocolError.UnexpectedFrame, $"unknown message kind {kind}");
        if (reserved != 0)
            throw new ProtocolException(ProtocolError.MalformedFrame, $"reserved header bits are {reserved:x4}, must be zero");
        if (length > (uint)ReceiveLimit)
            throw new ProtocolException(ProtocolError.Oversized,
                $"message of kind {kind} and {length} bytes exceeds the limit of {ReceiveLimit} bytes");
        if (length > (uint)_receive.Length) _receive = new byte[length];
        var payload = _receive.AsMemory(0, (int)length);
        await ReadExactlyAsync(payload, kind, token).ConfigureAwait(false);
        BytesReceived += Protocol.HeaderBytes + length;
        _raw.Reset<TReceive>(payload, "message");
        if (_raw.Kind != kind)
            throw new ProtocolException(ProtocolError.MalformedFrame, $"the header says kind {kind}, the message holds kind {_raw.Kind}");
        if (kind == TReceive.ErrorKind && _raw.Parse(TReceive.MessageParser, "message").ErrorBody is { } error)
            throw new PeerRefusedException((ProtocolError)error.Code, error.Message);
        return _raw;
    }

    /// <summary>Fills <paramref name="buffer"/>: the header when <paramref name="kind"/> is −1, else that message's payload.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // awaited once each: pooled, no allocation per frame
    private async ValueTask ReadExactlyAsync(Memory<byte> buffer, int kind, CancellationToken token)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await _stream.ReadAsync(buffer[read..], token).ConfigureAwait(false);
            if (n == 0)
            {
                // The message is built only here, so a normal frame allocates no text.
                string what = kind >= 0 ? $"message of kind {kind} and {buffer.Length} bytes" : "frame header";
                throw new EndOfStreamException(read == 0 && kind < 0
                    ? "connection closed"
                    : $"connection closed in the middle of a {what} ({read} of {buffer.Length} bytes)");
            }
            read += n;
        }
    }

    /// <summary>Best effort: tells the peer why it is being dropped. Never throws.</summary>
    public async Task TrySendErrorAsync(ProtocolError code, string message, TimeSpan timeout)
    {
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            var error = new Wire.Error { Code = (int)code, Message = message.Length > 1000 ? message[..1000] : message };
            await SendAsync(TSend.ForError(error), cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException or NotSupportedException)
        {
        }
    }

    /// <summary>Best effort shutdown notice (<paramref name="failed"/>: the run stopped on a failure). Never throws.</summary>
    public async Task TrySendShutdownAsync(bool failed, string reason, TimeSpan timeout)
    {
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            var shutdown = new Wire.Shutdown { Failed = failed, Reason = reason.Length > 1000 ? reason[..1000] : reason };
            await SendAsync(TSend.ForShutdown(shutdown), cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException or NotSupportedException)
        {
        }
    }

    public void Dispose() => _stream.Dispose();

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}

/// <summary>The master's connection to one client over framed TCP/TLS: sends MasterMessage, receives ClientMessage.</summary>
/// <param name="stream">The TLS or plain TCP stream.</param>
/// <param name="peer">Who it is, for log lines.</param>
/// <param name="socket">The TCP socket under the stream, to notice a peer that closed while it waited in the lobby.</param>
public sealed class ClientConnection(Stream stream, string peer, Socket? socket = null)
    : FrameConnection<MasterMessage, ClientMessage>(stream, peer), IClientChannel
{
    /// <summary>A peer that sends nothing until asked has closed its side when its socket reads as ready with no data.</summary>
    public bool HasClosed
    {
        get
        {
            if (socket is null) return false;
            try
            {
                return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return true;
            }
        }
    }

    public void UseRunLimits(Compression.CompressorSpec spec) => UseLimits(Protocol.ClientFrameLimit(spec), Protocol.MasterFrameLimit(spec.Dimension));

    public ValueTask SendAsync(PreparedRequest request, CancellationToken token) => SendPreparedAsync(request.Frame, token);

    ValueTask<RawEnvelope> IClientChannel.ReceiveAsync(CancellationToken token) => ReceiveRawAsync(token);
}

/// <summary>A client's connection to the master over framed TCP/TLS: sends ClientMessage, receives MasterMessage.</summary>
public sealed class MasterConnection(Stream stream, string peer) : FrameConnection<ClientMessage, MasterMessage>(stream, peer), IMasterChannel
{
    public void UseRunLimits(Compression.CompressorSpec spec) => UseLimits(Protocol.MasterFrameLimit(spec.Dimension), Protocol.ClientFrameLimit(spec));
}
