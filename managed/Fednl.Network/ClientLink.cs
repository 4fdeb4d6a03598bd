using Fednl.Kernels;

namespace Fednl.Network;

/// <summary>Where a client stands as the master sees it.</summary>
public enum LinkState
{
    /// <summary>Not connected yet, or connected and waiting to be restored (rejoin, resume).</summary>
    Absent,
    Live,
    Lost,
}

/// <summary>
/// One client as the master sees it: its connection and the master's copy of the client's algorithm state. The
/// state is fully determined by the messages the master received (H_i += α S_i; FedNL-PP's w_i = x and l_i), so a
/// client that rejoins, or a master resumed from a checkpoint, hands it back and the run continues exactly.
/// </summary>
public sealed class ClientLink(int id, int dimension)
{
    public int Id { get; } = id;
    public LinkState State { get; set; } = LinkState.Absent;
    public FrameConnection? Connection { get; set; }

    /// <summary>H_i (packed), as the client holds it.</summary>
    public double[] Shift { get; } = new double[PackedSymmetric.Length(dimension)];

    /// <summary>FedNL-PP: w_i, the model of the client's last participation, and l_i.</summary>
    public double[] LocalModel { get; } = new double[dimension];
    public double LocalDifferenceNorm { get; set; }

    /// <summary>Sample count and max ‖a_j‖² from the client's Hello.</summary>
    public int Samples { get; set; }
    /// <summary>Samples in the shared file the client took its slice of; 0 for a client on its own file.</summary>
    public long DatasetSamples { get; set; }
    public double MaxRowNormSquared { get; set; }

    /// <summary>Randk/randseqk index regeneration for this client's updates (its own workspace, so clients decode in parallel).</summary>
    public HessianCompressor? Regenerator { get; set; }

    public string Describe() => Connection is null ? $"client {Id}" : Connection.Peer;
}

/// <summary>What the master does when a client is lost (disconnects, stalls past the timeout, sends garbage).</summary>
public enum ClientLossPolicy
{
    /// <summary>Stop the run cleanly; the history so far is kept.</summary>
    Fail,
    /// <summary>Go on with the remaining clients (FedNL-PP manner); a lost client may rejoin.</summary>
    Continue,
}

/// <summary>A client was lost and the policy says stop, or no client is left.</summary>
public sealed class ClientLostException(string message) : Exception(message);
