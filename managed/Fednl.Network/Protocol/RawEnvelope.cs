using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Network;

/// <summary>
/// A received envelope still in its serialised form: its body kind and bytes that stay valid until the next receive
/// on the same connection (the connection reuses one buffer). Large replies are read from it in place
/// (<see cref="UpdateView"/>), so a round's updates are never copied into fresh arrays; anything else is parsed.
/// </summary>
public sealed class RawEnvelope
{
    /// <summary>The body's field number (the envelope's <c>oneof</c> case).</summary>
    public int Kind { get; private set; }

    /// <summary>The serialised envelope (valid until the next receive).</summary>
    public ReadOnlyMemory<byte> Bytes { get; private set; }

    /// <summary>Points at a new envelope, after checking it parses as far as its body and finding the body's kind.</summary>
    /// <param name="bytes">The serialised envelope.</param>
    /// <param name="what">The envelope's name, for error messages.</param>
    /// <typeparam name="TEnvelope">The envelope type: which field numbers are its bodies.</typeparam>
    internal void Reset<TEnvelope>(ReadOnlyMemory<byte> bytes, string what) where TEnvelope : IMessage<TEnvelope>, IEnvelope, IEnvelopeFactory<TEnvelope>
    {
        Bytes = bytes;
        Kind = BodyKind<TEnvelope>(bytes.Span, what);
    }

    /// <summary>The serialised body (the field that <see cref="Kind"/> names).</summary>
    public ReadOnlySpan<byte> Body
    {
        get
        {
            var reader = new ProtoReader(Bytes.Span, "envelope");
            ReadOnlySpan<byte> body = default;
            while (reader.Next(out int number, out int wireType))
                if (number == Kind && wireType == ProtoReader.LengthDelimited) body = reader.ReadBytes();
                else reader.Skip(wireType);
            return body;
        }
    }

    /// <summary>Where the serialised body lies in <see cref="Bytes"/>: its start and length.</summary>
    public (int Start, int Length) BodyRange()
    {
        var reader = new ProtoReader(Bytes.Span, "envelope");
        (int Start, int Length) range = (0, 0);
        while (reader.Next(out int number, out int wireType))
        {
            if (number == Kind && wireType == ProtoReader.LengthDelimited)
            {
                int length = reader.ReadBytes().Length;
                range = (reader.Position - length, length);
            }
            else reader.Skip(wireType);
        }
        return range;
    }

    /// <summary>Parses the whole envelope (copies its vectors): for the small messages and the handshake.</summary>
    public T Parse<T>(MessageParser<T> parser, string what) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(Bytes.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ProtocolException(ProtocolError.MalformedFrame, $"{what} of kind {Kind} does not parse ({e.Message})");
        }
    }

    /// <summary>
    /// The body's field number: the last body field, as protobuf's <c>oneof</c> rule has it. A body that occurs
    /// twice (which protobuf would merge) is refused: no sender of ours writes one.
    /// </summary>
    private static int BodyKind<TEnvelope>(ReadOnlySpan<byte> envelope, string what) where TEnvelope : IMessage<TEnvelope>, IEnvelope, IEnvelopeFactory<TEnvelope>
    {
        var reader = new ProtoReader(envelope, what);
        int kind = 0;
        ulong seen = 0;
        while (reader.Next(out int field, out int wireType))
        {
            if (TEnvelope.IsKind(field) && wireType == ProtoReader.LengthDelimited)
            {
                if (field < 64 && (seen & (1UL << field)) != 0)
                    throw new ProtocolException(ProtocolError.MalformedFrame, $"{what} carries its body of kind {field} twice");
                if (field < 64) seen |= 1UL << field;
                kind = field;
            }
            reader.Skip(wireType);
        }
        return kind;
    }
}
