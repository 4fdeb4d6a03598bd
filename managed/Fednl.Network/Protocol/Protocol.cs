namespace Fednl.Network;

/// <summary>
/// Sizes of the framed protocol (docs/protocol.md): every frame is an 8-byte header — payload length (u32), protocol
/// version (u8), the envelope's body kind (u8), reserved (u16, zero) — then a MasterMessage or ClientMessage of
/// Protocol/fednl.proto. The limits below bound each side's messages from d and the compressor, so a longer one
/// is refused from its header, before it is read.
/// </summary>
public static class Protocol
{
    public const byte Version = (byte)WireCodec.Version;
    public const int HeaderBytes = 8;

    /// <summary>Limit for messages before the dimension is known (handshake, errors, shutdown).</summary>
    public const int HandshakeLimit = 4096;

    /// <summary>Bytes a message spends beside its vectors: field tags, length prefixes, scalars, the envelope.</summary>
    public const int Overhead = 256;

    /// <summary>The largest message a client may send in a run: its initial state (H_i and g_i⁰) or its largest update.</summary>
    public static int ClientFrameLimit(Compression.CompressorSpec spec)
    {
        long d = spec.Dimension, entries = spec.IsDense ? spec.PackedLength : spec.K;
        long initialState = 8 * (spec.PackedLength + d);
        long update = 8 * d + 8 * entries + (WireCodec.SendsIndices(spec.Kind) ? 4 * entries : 0);
        return checked((int)(Math.Max(initialState, update) + Overhead));
    }

    /// <summary>The largest message the master sends in a run: a state transfer (H_i, w_i, l_i).</summary>
    public static int MasterFrameLimit(int dimension) => checked((int)(8 * (Kernels.PackedSymmetric.Length(dimension) + dimension) + Overhead));

    /// <summary>Private mode: AES-GCM's tag and nonce, a client's salt share of the run key, and the longest platform text.</summary>
    public const int SealTagBytes = 16, SealNonceBytes = 12, SaltBytes = 32, MaxPlatformLength = 200;

    /// <summary>Private mode: the longest ciphertext (plaintext and tag) of one sealed reply.</summary>
    public static int PrivateCiphertextLimit(Compression.CompressorSpec spec) => checked(ClientFrameLimit(spec) + SealTagBytes);

    /// <summary>Private mode: the longest Sealed envelope a client sends (the ciphertext, nonce, numbers and tags).</summary>
    public static int PrivateSealedLimit(Compression.CompressorSpec spec) => checked(PrivateCiphertextLimit(spec) + Overhead);

    /// <summary>
    /// Private mode: the longest message the relay sends a client: the Bundle of all n sealed messages (or the
    /// roster of n salt shares and platforms, when that is longer).
    /// </summary>
    public static int PrivateBundleLimit(Compression.CompressorSpec spec, int clients)
    {
        long bundle = (long)clients * (PrivateSealedLimit(spec) + 16) + Overhead;
        long roster = (long)clients * (SaltBytes + 4L * MaxPlatformLength + 16) + Overhead;
        return checked((int)Math.Max(bundle, roster));
    }

    /// <summary>The largest request broadcast to every client (Round: k, α, x; the others are shorter), header included.</summary>
    public static int BroadcastFrameBytes(int dimension) => checked(HeaderBytes + 8 * dimension + Overhead);
}

/// <summary>Codes carried by an Error message.</summary>
public enum ProtocolError
{
    MalformedFrame = 1,
    UnsupportedVersion = 2,
    UnexpectedFrame = 3,
    Oversized = 4,
    WrongRound = 5,
    DuplicateClient = 6,
    InconsistentSettings = 7,
    NotAuthorised = 8,
    WrongRun = 9,
    Internal = 10,
}

/// <summary>A peer broke the protocol; the message names what was wrong.</summary>
public sealed class ProtocolException(ProtocolError code, string message) : Exception(message)
{
    public ProtocolError Code { get; } = code;
}

/// <summary>The peer refused us with an error frame.</summary>
public sealed class PeerRefusedException(ProtocolError code, string message) : Exception(message)
{
    public ProtocolError Code { get; } = code;
}
