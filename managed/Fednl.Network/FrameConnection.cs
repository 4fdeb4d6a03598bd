using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Fednl.Network;

/// <summary>One received frame: its type and payload (valid until the next receive on the same connection).</summary>
public readonly record struct Frame(FrameType Type, ReadOnlyMemory<byte> Payload);

/// <summary>
/// A framed, checked byte stream to one peer (TLS or plain TCP). Buffers are allocated once, at the size the
/// protocol allows for the run's dimension, so a round allocates nothing and a peer cannot make us allocate more.
/// Every read checks the header: version, reserved bits, type, and length against the current limit.
/// </summary>
public sealed class FrameConnection : IAsyncDisposable, IDisposable
{
    private readonly Stream _stream;
    private readonly byte[] _header = new byte[Protocol.HeaderBytes];
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

    /// <summary>Raises the limits once the dimension is known; buffers grow once, here.</summary>
    public void UseLimits(int receiveLimit, int sendLimit)
    {
        ReceiveLimit = receiveLimit;
        if (_receive.Length < receiveLimit) _receive = new byte[receiveLimit];
        if (_send.Length < Protocol.HeaderBytes + sendLimit) _send = new byte[Protocol.HeaderBytes + sendLimit];
    }

    /// <summary>The payload area of the send buffer: write the payload here, then <see cref="SendAsync(FrameType, int, CancellationToken)"/>.</summary>
    public Span<byte> SendPayload => _send.AsSpan(Protocol.HeaderBytes);

    public static void WriteHeader(Span<byte> header, FrameType type, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payloadLength);
        header[4] = Protocol.Version;
        header[5] = (byte)type;
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
    }

    /// <summary>Sends the frame whose payload was written into <see cref="SendPayload"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // awaited once each: pooled, no allocation per frame
    public async ValueTask SendAsync(FrameType type, int payloadLength, CancellationToken token)
    {
        WriteHeader(_send, type, payloadLength);
        await _stream.WriteAsync(_send.AsMemory(0, Protocol.HeaderBytes + payloadLength), token).ConfigureAwait(false);
        await _stream.FlushAsync(token).ConfigureAwait(false);
        BytesSent += Protocol.HeaderBytes + payloadLength;
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
    /// Reads one frame. A closed stream, a bad header or an oversized length throws; <see cref="ProtocolException"/>
    /// carries what to tell the peer.
    /// </summary>
    /// <summary>
    /// True when the last header read starts like a TLS record (handshake or alert, version 3.x): the peer speaks TLS
    /// where this side speaks plain frames. Only meaningful for the first frame of a connection.
    /// </summary>
    public bool LooksLikeTls => _header[0] is 0x15 or 0x16 && _header[1] == 0x03 && _header[2] <= 0x04;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // awaited once: pooled, no allocation per frame
    public async ValueTask<Frame> ReceiveAsync(CancellationToken token)
    {
        await ReadExactlyAsync(_header, null, token).ConfigureAwait(false);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_header);
        byte version = _header[4], type = _header[5];
        ushort reserved = BinaryPrimitives.ReadUInt16LittleEndian(_header.AsSpan(6));
        if (version != Protocol.Version)
            throw new ProtocolException(ProtocolError.UnsupportedVersion,
                $"protocol version {version} is not supported (this side speaks version {Protocol.Version})");
        if (!Enum.IsDefined((FrameType)type))
            throw new ProtocolException(ProtocolError.UnexpectedFrame, $"unknown frame type {type}");
        if (reserved != 0)
            throw new ProtocolException(ProtocolError.MalformedFrame, $"reserved header bits are {reserved:x4}, must be zero");
        if (length > (uint)ReceiveLimit)
            throw new ProtocolException(ProtocolError.Oversized,
                $"{(FrameType)type} frame of {length} bytes exceeds the limit of {ReceiveLimit} bytes");
        var payload = _receive.AsMemory(0, (int)length);
        await ReadExactlyAsync(payload, (FrameType)type, token).ConfigureAwait(false);
        BytesReceived += Protocol.HeaderBytes + length;
        var frame = new Frame((FrameType)type, payload);
        if (frame.Type == FrameType.Error) throw DecodeError(frame.Payload.Span);
        return frame;
    }

    /// <summary>Fills <paramref name="buffer"/>: the header when <paramref name="frame"/> is null, else that frame's payload.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // awaited once each: pooled, no allocation per frame
    private async ValueTask ReadExactlyAsync(Memory<byte> buffer, FrameType? frame, CancellationToken token)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await _stream.ReadAsync(buffer[read..], token).ConfigureAwait(false);
            if (n == 0)
            {
                // The message is built only here, so a normal frame allocates no text.
                string what = frame is { } type ? $"{type} frame of {buffer.Length} bytes" : "frame header";
                throw new EndOfStreamException(read == 0 && frame is null
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
            var payload = SendPayload;
            var writer = new WireWriter(payload);
            writer.Int32((int)code);
            writer.Utf8(message.Length > 1000 ? message[..1000] : message);
            await SendAsync(FrameType.Error, writer.Position, cts.Token).ConfigureAwait(false);
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
            var writer = new WireWriter(SendPayload);
            writer.Byte(failed ? (byte)1 : (byte)0);
            writer.Utf8(reason.Length > 1000 ? reason[..1000] : reason);
            await SendAsync(FrameType.Shutdown, writer.Position, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException or NotSupportedException)
        {
        }
    }

    private static PeerRefusedException DecodeError(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4) return new PeerRefusedException(ProtocolError.MalformedFrame, "peer sent a malformed error frame");
        var reader = new WireReader(payload, "Error");
        var code = (ProtocolError)reader.Int32();
        return new PeerRefusedException(code, reader.Utf8Rest());
    }

    public void Dispose() => _stream.Dispose();

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
