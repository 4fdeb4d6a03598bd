using System.Net;
using Fednl.Algorithms;
using Fednl.Configuration;

namespace Fednl.Network;

/// <summary>How a master runs: where it listens, the training settings, security, timeouts, checkpoints.</summary>
public sealed record MasterSettings
{
    public required IPEndPoint Listen { get; init; }
    /// <summary>The training settings; <see cref="TrainingOptions.Clients"/> is the number of clients n.</summary>
    public required TrainingOptions Options { get; init; }
    /// <summary>TLS with mutual authentication; null runs plain TCP (--insecure).</summary>
    public TlsSettings? Tls { get; init; }
    /// <summary>How long one exchange (a round, a line-search try, a restore) may take before a silent client is lost.</summary>
    public TimeSpan RoundTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How long to wait for all clients to join before giving up.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>How long a connecting peer has for TLS and Hello.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public ClientLossPolicy LossPolicy { get; init; } = ClientLossPolicy.Fail;
    /// <summary>Checkpoint file (written atomically: temporary file, then rename); null for none.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>Write a checkpoint every this many rounds (0: only when the run stops).</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Continue from <see cref="CheckpointPath"/>.</summary>
    public bool Resume { get; init; }
    /// <summary>Where log lines go (one line per event, naming the peer).</summary>
    public Action<string> Log { get; init; } = _ => { };
    /// <summary>d of the run (after any intercept column), when stated (<c>--dimension</c>); 0 lets the clients settle it.</summary>
    public int Dimension { get; init; }

    /// <summary>What carries the messages: null is the built-in framed TCP (TLS or plain), else e.g. the gRPC engine.</summary>
    public INetworkEngine? Engine { get; init; }

    /// <summary>
    /// Private mode (docs/privacy.md): the master is a blind relay of sealed messages; the clients hold the key and
    /// each runs the server step itself.
    /// </summary>
    public bool Private { get; init; }

    public int Clients => Options.Clients;
}
