using Fednl.Kernels;

namespace Fednl.Network;

/// <summary>Where a client stands as the master sees it.</summary>
public enum LinkState
{
    /// <summary>Not connected yet, or connected and waiting to be restored (rejoin, resume).</summary>
    Absent,
    Live,
    /// <summary>Connected again after it was lost; it takes only the requests that restore it, then is live.</summary>
    Returning,
    Lost,
}

/// <summary>
/// One client as the master sees it: its connection and what its Hello said. Its algorithm state is kept by the
/// server role (<see cref="Messages.ClientState"/>), from the same replies.
/// </summary>
public sealed class ClientLink(int id)
{
    public int Id { get; } = id;
    public LinkState State { get; set; } = LinkState.Absent;
    public IClientChannel? Connection { get; set; }


    /// <summary>Sample count and max ‖a_j‖² from the client's Hello.</summary>
    public int Samples { get; set; }
    /// <summary>Samples in the shared file the client took its slice of; 0 for a client on its own file.</summary>
    public long DatasetSamples { get; set; }
    public double MaxRowNormSquared { get; set; }

    /// <summary>Private mode: the Hello's salt share and platform, relayed to every client in the roster.</summary>
    public byte[] Salt { get; set; } = [];
    public string Platform { get; set; } = "";

    /// <summary>Randk/randseqk/permk index regeneration for this client's updates (its own workspace, so clients decode in parallel).</summary>
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

