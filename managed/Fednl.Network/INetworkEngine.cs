using System.Net;

namespace Fednl.Network;

/// <summary>
/// What carries the messages between master and clients when it is not the built-in framed TCP: the gRPC engine
/// (<see cref="Grpc.GrpcEngine"/>) implements it. Admission, the lobby, the round exchanges, timeouts and loss
/// policies stay the same code over <see cref="IClientChannel"/> and <see cref="IMasterChannel"/>.
/// </summary>
public interface INetworkEngine
{
    /// <summary>How it shows in log lines, e.g. "gRPC".</summary>
    string Name { get; }

    /// <summary>The largest d a run may have; messages above what it allows are refused unread.</summary>
    int MaxDimension { get; }

    /// <summary>
    /// Starts the master's endpoint. Every accepted client session is handed to <paramref name="onSession"/> with the
    /// client id its TLS certificate names (−1: none); the session stays open after it returns until the channel is
    /// disposed or the peer vanishes.
    /// </summary>
    Task<IEngineListener> ListenAsync(IPEndPoint listen, TlsSettings? tls, TimeSpan handshakeTimeout, Action<string> log,
        Func<IClientChannel, int, Task> onSession, CancellationToken token);

    /// <summary>
    /// Opens a client's session with the master. Throws <see cref="MasterClosedException"/> when the master closed
    /// or refused the connection before a session opened, <see cref="IOException"/> when it cannot be reached.
    /// </summary>
    Task<IMasterChannel> ConnectAsync(string host, int port, TlsSettings? tls, int dimension, TimeSpan timeout, CancellationToken token);
}

/// <summary>A running master endpoint of an <see cref="INetworkEngine"/>.</summary>
public interface IEngineListener : IAsyncDisposable
{
    /// <summary>The endpoint actually bound (port 0 picks a free one).</summary>
    IPEndPoint Endpoint { get; }
}

/// <summary>
/// The master closed the connection after it opened and before it welcomed the client: a refusal when it happens
/// at once (<see cref="After"/> short), else a master that is busy or restarting.
/// </summary>
public sealed class MasterClosedException(TimeSpan after, string message, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>Time from the start of the connect to the close.</summary>
    public TimeSpan After { get; } = after;
}
