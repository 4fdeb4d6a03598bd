using Fednl.Network.Wire;

namespace Fednl.Network.Private;

/// <summary>
/// A <see cref="Sealed"/> message read in place: the relay forwards it byte for byte, and a client opens its
/// ciphertext without copying it out first. Field semantics are the schema's (the last value of a field wins,
/// unknown fields are skipped).
/// </summary>
public readonly ref struct SealedView
{
    public long Exchange { get; private init; }
    public int Sender { get; private init; }
    public int Round { get; private init; }
    public ReadOnlySpan<byte> Nonce { get; private init; }
    public ReadOnlySpan<byte> Ciphertext { get; private init; }

    /// <summary>Reads a serialised Sealed message.</summary>
    public static SealedView Parse(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes, "Sealed");
        long exchange = 0;
        int sender = 0, round = 0;
        ReadOnlySpan<byte> nonce = default, ciphertext = default;
        while (reader.Next(out int field, out int wireType))
        {
            switch ((field, wireType))
            {
                case (Sealed.ExchangeFieldNumber, ProtoReader.Varint): exchange = (long)reader.ReadVarint(); break;
                case (Sealed.SenderFieldNumber, ProtoReader.Varint): sender = reader.ReadInt32(); break;
                case (Sealed.RoundFieldNumber, ProtoReader.Varint): round = reader.ReadInt32(); break;
                case (Sealed.NonceFieldNumber, ProtoReader.LengthDelimited): nonce = reader.ReadBytes(); break;
                case (Sealed.CiphertextFieldNumber, ProtoReader.LengthDelimited): ciphertext = reader.ReadBytes(); break;
                default: reader.Skip(wireType); break;
            }
        }
        return new SealedView { Exchange = exchange, Sender = sender, Round = round, Nonce = nonce, Ciphertext = ciphertext };
    }

    /// <summary>
    /// Checks what a relay can check without the key: the exchange, the sender, the nonce's size and a ciphertext
    /// no longer than <paramref name="maxCiphertext"/> and at least a tag. Throws naming what is wrong.
    /// </summary>
    public void CheckFraming(long exchange, int sender, int maxCiphertext, string who)
    {
        if (Exchange != exchange)
            throw new ProtocolException(ProtocolError.WrongRound, $"{who} sent a sealed message of exchange {Exchange}, expected exchange {exchange}");
        if (Sender != sender)
            throw new ProtocolException(ProtocolError.NotAuthorised, $"{who} sent a sealed message that claims to come from client {Sender}");
        if (Nonce.Length != RunKey.NonceBytes)
            throw new ProtocolException(ProtocolError.MalformedFrame, $"{who} sent a sealed message with a {Nonce.Length}-byte nonce ({RunKey.NonceBytes} expected)");
        if (Ciphertext.Length < RunKey.TagBytes || Ciphertext.Length > maxCiphertext)
            throw new ProtocolException(ProtocolError.Oversized,
                $"{who} sent a sealed message of {Ciphertext.Length} bytes; this run's are {RunKey.TagBytes} to {maxCiphertext} bytes");
    }
}

/// <summary>A <see cref="Bundle"/> read in place: the exchange, each forwarded Sealed message (serialised) and the lost clients.</summary>
public ref struct BundleView
{
    private readonly ReadOnlySpan<byte> _bytes;

    private BundleView(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    public long Exchange { get; private set; }
    public int SealedCount { get; private set; }

    /// <summary>Reads a serialised Bundle's header fields; the messages are read with <see cref="Entries"/>.</summary>
    public static BundleView Parse(ReadOnlySpan<byte> bytes)
    {
        var view = new BundleView(bytes);
        var reader = new ProtoReader(bytes, "Bundle");
        while (reader.Next(out int field, out int wireType))
        {
            switch ((field, wireType))
            {
                case (Bundle.ExchangeFieldNumber, ProtoReader.Varint): view.Exchange = (long)reader.ReadVarint(); break;
                case (Bundle.SealedFieldNumber, ProtoReader.LengthDelimited): reader.ReadBytes(); view.SealedCount++; break;
                default: reader.Skip(wireType); break;
            }
        }
        return view;
    }

    /// <summary>Calls <paramref name="sealedMessage"/> for each forwarded message and <paramref name="lost"/> for each lost client, in order.</summary>
    public readonly void Entries(SealedVisitor sealedMessage, Action<int> lost)
    {
        var reader = new ProtoReader(_bytes, "Bundle");
        while (reader.Next(out int field, out int wireType))
        {
            switch ((field, wireType))
            {
                case (Bundle.SealedFieldNumber, ProtoReader.LengthDelimited): sealedMessage(reader.ReadBytes()); break;
                case (Bundle.LostFieldNumber, ProtoReader.Varint): lost(reader.ReadInt32()); break;
                case (Bundle.LostFieldNumber, ProtoReader.LengthDelimited):
                {
                    // packed repeated int32 (proto3's default encoding)
                    var packed = new ProtoReader(reader.ReadBytes(), "Bundle lost list");
                    while (packed.HasMore) lost(packed.ReadInt32());
                    break;
                }
                default: reader.Skip(wireType); break;
            }
        }
    }
}

/// <summary>Receives one forwarded Sealed message (its serialised bytes).</summary>
public delegate void SealedVisitor(ReadOnlySpan<byte> sealedMessage);
