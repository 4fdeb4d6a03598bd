using System.Net;

namespace Fednl.Network.Grpc;

/// <summary>
/// gRPC as the network engine (<c>--engine grpc</c>): one bidirectional <c>Session</c> stream per client over
/// HTTP/2, mutual TLS against the run's CA (h2c with <c>--insecure</c>), keepalive pings, message limits from d and
/// the compressor checked before parsing, framework ceilings from <see cref="MaxDimension"/>.
/// </summary>
/// <param name="maxDimension">The largest d of a run (<c>--max-dimension</c>, or the run's d when known).</param>
public sealed class GrpcEngine(int maxDimension) : INetworkEngine
{
    public string Name => "gRPC";

    public int MaxDimension { get; } = maxDimension >= 1 ? maxDimension
        : throw new ArgumentOutOfRangeException(nameof(maxDimension), maxDimension, "the largest dimension must be >= 1");

    public async Task<IEngineListener> ListenAsync(IPEndPoint listen, TlsSettings? tls, TimeSpan handshakeTimeout, Action<string> log,
        Func<IClientChannel, int, Task> onSession, CancellationToken token)
    {
        var options = new GrpcHostOptions { Listen = listen, Tls = tls, Log = log, MaxDimension = MaxDimension, HandshakeTimeout = handshakeTimeout };
        return await GrpcMasterHost.StartAsync(options, peer => onSession(peer, peer.CertificateClientId), token).ConfigureAwait(false);
    }

    public async Task<IMasterChannel> ConnectAsync(string host, int port, TlsSettings? tls, int dimension, TimeSpan timeout, CancellationToken token)
    {
        return await GrpcClientConnection.ConnectAsync(new GrpcClientOptions
        {
            MasterHost = host,
            MasterPort = port,
            Tls = tls,
            MaxDimension = Math.Max(dimension, 1),
            ConnectTimeout = timeout,
        }, token).ConfigureAwait(false);
    }
}
