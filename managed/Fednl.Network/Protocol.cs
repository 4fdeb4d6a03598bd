namespace Fednl.Network;

/// <summary>
/// The wire protocol between the master and its clients (docs/protocol.md). Every frame is an 8-byte header —
/// payload length (u32), protocol version (u8), frame type (u8), reserved (u16, zero) — then the payload.
/// All numbers are little-endian; values are IEEE FP64.
/// </summary>
public static class Protocol
{
    public const byte Version = 2;
    public const int HeaderBytes = 8;

    /// <summary>Limit for frames before the dimension is known (handshake, errors, shutdown).</summary>
    public const int HandshakeLimit = 4096;

    /// <summary>
    /// The largest payload a client may send in a run: its initial state (H_i and g_i⁰) or its largest update. Derived
    /// from d and the compressor; anything longer is refused before it is read.
    /// </summary>
    public static int ClientFrameLimit(Compression.CompressorSpec spec) =>
        Math.Max(InitialStateBytes(spec.Dimension), UpdateCodec.MaxPayload(spec)) + 64;

    /// <summary>The largest payload the master sends in a run: a state transfer (H_i, w_i, l_i).</summary>
    public static int MasterFrameLimit(int dimension) => RestoreBytes(dimension, partial: true) + 64;

    public static int InitialStateBytes(int dimension) =>
        checked((int)(8 * (Kernels.PackedSymmetric.Length(dimension) + dimension)));

    public static int RestoreBytes(int dimension, bool partial) =>
        checked((int)(4 + 1 + 8 + 8 * Kernels.PackedSymmetric.Length(dimension) + (partial ? 8L * dimension : 0)));
}

/// <summary>Frame types. Requests go master → client; each has exactly one answer type.</summary>
public enum FrameType : byte
{
    /// <summary>C→M: protocol version, run id, client id, d, samples, split settings.</summary>
    Hello = 1,
    /// <summary>M→C: the run's settings (algorithm, compressor, K, λ, α, seed, n).</summary>
    Welcome = 2,
    /// <summary>M→C: x⁰; the client forms H_i⁰ (and FedNL-PP's g_i⁰). Answer: <see cref="InitialState"/>.</summary>
    Initialize = 3,
    /// <summary>C→M: H_i⁰ (packed) and, for FedNL-PP, g_i⁰.</summary>
    InitialState = 4,
    /// <summary>M→C: the client's state kept by the master (H_i; FedNL-PP w_i, l_i). Answer: <see cref="Ready"/>.</summary>
    Restore = 5,
    /// <summary>C→M: state restored.</summary>
    Ready = 6,
    /// <summary>M→C: a FedNL round at x. Answer: <see cref="Update"/>.</summary>
    Round = 7,
    /// <summary>M→C: a FedNL-PP participation at x. Answer: <see cref="Update"/>.</summary>
    Participate = 8,
    /// <summary>C→M: f_i, l_i, Δl_i, the gradient (or Δg_i) and the compressed Hessian difference.</summary>
    Update = 9,
    /// <summary>M→C: f_i(x), optionally ∇f_i(x). Answer: <see cref="Evaluation"/>.</summary>
    Evaluate = 10,
    /// <summary>C→M: f_i and optionally the gradient.</summary>
    Evaluation = 11,
    /// <summary>Either way: the run is over (or the sender is leaving); outcome (0 finished, 1 failed) and UTF-8 reason.</summary>
    Shutdown = 12,
    /// <summary>Either way: the receiver broke the protocol and is dropped; code and UTF-8 message.</summary>
    Error = 13,
    /// <summary>M→C (--scale): send the largest |a_jf| of every feature. Answer: <see cref="FeatureMax"/>.</summary>
    FeatureMaxQuery = 14,
    /// <summary>C→M: max_j |a_jf| for every feature f.</summary>
    FeatureMax = 15,
    /// <summary>M→C (--scale): divide feature f by s_f from now on. Answer: <see cref="Scaled"/>.</summary>
    Scale = 16,
    /// <summary>C→M: max ‖a_j‖² of the scaled rows.</summary>
    Scaled = 17,
}

/// <summary>Codes carried by an <see cref="FrameType.Error"/> frame.</summary>
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
