using Fednl.Compression;

namespace Fednl.Network.Grpc;

/// <summary>
/// The largest message one side of a session accepts and sends, in serialized bytes. A session starts at the
/// handshake limit (<see cref="Protocol.HandshakeLimit"/>: Hello and Welcome only) and is raised once d and the
/// compressor are known. Received messages are checked against <see cref="Receive"/> before they are parsed.
/// Thread-safe: the limits may be raised while a receive is pending.
/// </summary>
public sealed class GrpcMessageLimits
{
    private volatile int _receive = Protocol.HandshakeLimit;
    private volatile int _send = Protocol.HandshakeLimit;
    private volatile string _stage = "handshake, d not yet known";

    /// <summary>Messages received longer than this are refused before they are parsed.</summary>
    public int Receive => _receive;

    /// <summary>Messages longer than this are not sent (a bug on this side, reported as such).</summary>
    public int Send => _send;

    /// <summary>What the limits are derived from, for error messages: "handshake, d not yet known" or "d = 301, randseqk (K = 301)".</summary>
    public string Stage => _stage;

    /// <summary>The master's limits for a run: it receives client messages up to <see cref="Protocol.ClientFrameLimit"/>.</summary>
    /// <param name="spec">The run's compressor (its dimension is d).</param>
    public void UseMasterRunLimits(CompressorSpec spec) =>
        Use(Protocol.ClientFrameLimit(spec), Protocol.MasterFrameLimit(spec.Dimension), spec);

    /// <summary>A client's limits for a run: it receives master messages up to <see cref="Protocol.MasterFrameLimit"/>.</summary>
    /// <param name="spec">The run's compressor (its dimension is d).</param>
    public void UseClientRunLimits(CompressorSpec spec) =>
        Use(Protocol.MasterFrameLimit(spec.Dimension), Protocol.ClientFrameLimit(spec), spec);

    private void Use(int receive, int send, CompressorSpec spec)
    {
        _stage = $"d = {spec.Dimension}, {spec}";
        _send = send;
        _receive = receive;
    }

    /// <summary>
    /// The largest message any run with d ≤ <paramref name="maxDimension"/> exchanges (the identical compressor's
    /// update or initial state, or a state transfer): the transport's own ceiling (gRPC MaxReceiveMessageSize).
    /// </summary>
    /// <param name="maxDimension">The largest d the host will accept (after any intercept column).</param>
    public static int Ceiling(int maxDimension)
    {
        if (maxDimension < 1) throw new ArgumentOutOfRangeException(nameof(maxDimension), maxDimension, "the largest dimension must be >= 1");
        var dense = new CompressorSpec(CompressorKind.Identical, maxDimension, 1);
        return Math.Max(Math.Max(Protocol.ClientFrameLimit(dense), Protocol.MasterFrameLimit(maxDimension)), Protocol.HandshakeLimit);
    }
}
