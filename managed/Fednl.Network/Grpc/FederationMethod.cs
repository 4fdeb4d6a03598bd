using System.Buffers;
using Fednl.Network.Wire;
using global::Grpc.Core;
using Google.Protobuf;

namespace Fednl.Network.Grpc;

/// <summary>
/// Where a received message's length is checked and its bytes counted: one per session. The deserializer refuses a
/// message longer than <see cref="Limits"/>.Receive before parsing it, and keeps the refusal so the session can
/// report it whatever the framework wraps it in.
/// </summary>
internal sealed class InboundGate(GrpcMessageLimits limits, string peer)
{
    public GrpcMessageLimits Limits { get; } = limits;
    public string Peer { get; set; } = peer;
    public long BytesReceived;
    public ProtocolException? Refusal;

    private byte[] _buffer = [];
    private readonly RawEnvelope _raw = new();
    private string _what = "";
    private int _whatLength = -1;
    private string? _whatPeer;

    /// <summary>
    /// Copies a client message into this session's buffer (reused: it grows once to the run's limit) and reads its
    /// envelope in place; the previous message's bytes are overwritten, so one receive at a time.
    /// </summary>
    public RawEnvelope ReadRaw(DeserializationContext context)
    {
        int length = CheckLength(context, "ClientMessage");
        if (_buffer.Length < length) _buffer = new byte[Math.Max(length, Math.Min(Limits.Receive, 2 * Math.Max(length, _buffer.Length)))];
        context.PayloadAsReadOnlySequence().CopyTo(_buffer.AsSpan());
        try
        {
            _raw.Reset<ClientMessage>(_buffer.AsMemory(0, length), Describe(length));
        }
        catch (ProtocolException e)
        {
            throw Refusal = e;
        }
        return _raw;
    }

    /// <summary>"ClientMessage of N bytes from P", for error messages: made again only when N or P changed (a round's updates keep their length).</summary>
    private string Describe(int length)
    {
        string peer = Peer;
        if (length != _whatLength || !ReferenceEquals(peer, _whatPeer))
        {
            _what = $"ClientMessage of {length} bytes from {peer}";
            _whatLength = length;
            _whatPeer = peer;
        }
        return _what;
    }

    private int CheckLength(DeserializationContext context, string what)
    {
        int length = context.PayloadLength;
        int limit = Limits.Receive;
        if (length > limit)
            throw Refusal = new ProtocolException(ProtocolError.Oversized,
                $"{what} of {length} bytes from {Peer} exceeds the limit of {limit} bytes ({Limits.Stage}); refused before parsing");
        Interlocked.Add(ref BytesReceived, length);
        return length;
    }

    public T Parse<T>(DeserializationContext context, MessageParser<T> parser, string what) where T : IMessage<T>
    {
        int length = CheckLength(context, what);
        try
        {
            return parser.ParseFrom(context.PayloadAsReadOnlySequence());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Refusal = new ProtocolException(ProtocolError.MalformedFrame, $"{what} of {length} bytes from {Peer} is not a valid message: {e.Message}");
        }
    }
}

/// <summary>
/// The one gRPC method, <c>fednl.v3.Federation/Session</c> (a bidirectional stream), with marshallers that check
/// sizes before parsing. The server's marshaller finds its session's gate through <see cref="Ambient"/>, set by the
/// session around each receive (the framework parses inside that call); the client's is bound to one connection.
/// </summary>
internal static class FederationMethod
{
    /// <summary>The receiving session's gate, set for the duration of one receive on the master.</summary>
    public static readonly AsyncLocal<InboundGate?> Ambient = new();

    /// <summary>Outside any session (never expected): only handshake-sized messages pass.</summary>
    private static readonly GrpcMessageLimits Fallback = new();

    public static string ServiceName => Federation.Descriptor.FullName;
    public static string MethodName => Federation.Descriptor.Methods[0].Name;

    /// <summary>The master's method: client messages read in place through the ambient gate (see <see cref="RawEnvelope"/>).</summary>
    public static Method<RawEnvelope, MasterMessage> ForMaster() => new(MethodType.DuplexStreaming, ServiceName, MethodName,
        Marshallers.Create<RawEnvelope>((_, _) => throw new InvalidOperationException("the master does not send client messages"),
            c => (Ambient.Value ?? new InboundGate(Fallback, "a peer outside any session")).ReadRaw(c)),
        Marshallers.Create<MasterMessage>(Serialize, _ => throw new InvalidOperationException("the master does not parse its own messages")));

    /// <summary>A client's method: master messages parsed through <paramref name="gate"/>.</summary>
    public static Method<ClientMessage, MasterMessage> ForClient(InboundGate gate) => new(MethodType.DuplexStreaming, ServiceName, MethodName,
        Marshallers.Create<ClientMessage>(Serialize, _ => throw new InvalidOperationException("a client does not parse its own messages")),
        Marshallers.Create<MasterMessage>(Serialize, c => gate.Parse(c, MasterMessage.Parser, "MasterMessage")));

    private static void Serialize<T>(T message, SerializationContext context) where T : IMessage<T>, IBufferMessage
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    /// <summary>Checks a message about to be sent against the limit and returns its serialized size.</summary>
    /// <param name="message">The message.</param>
    /// <param name="body">Its body's case, named in the error.</param>
    /// <param name="limits">This side's limits.</param>
    /// <param name="peer">Who it was for, named in the error.</param>
    public static int CheckSend<TBody>(IMessage message, TBody body, GrpcMessageLimits limits, string peer) where TBody : struct, Enum
    {
        int size = message.CalculateSize();
        if (size > limits.Send)
            throw new InvalidOperationException($"{body} message of {size} bytes to {peer} exceeds this side's send limit of {limits.Send} bytes ({limits.Stage})");
        return size;
    }
}
