using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Fednl.Network.Wire;
using global::Grpc.AspNetCore.Server.Model;
using global::Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fednl.Network.Grpc;

/// <summary>How the master's gRPC endpoint listens.</summary>
public sealed record GrpcHostOptions
{
    /// <summary>Where to listen; port 0 picks a free port (<see cref="GrpcMasterHost.Endpoint"/> tells which).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>Mutual TLS (the master's certificate, the run's CA); null is h2c, HTTP/2 without TLS (--insecure).</summary>
    public TlsSettings? Tls { get; init; }

    /// <summary>Warnings and errors of the host and the framework, one line each (never stdout).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>The largest d a run may have: the framework refuses any message above <see cref="GrpcMessageLimits.Ceiling"/> of it unread.</summary>
    public int MaxDimension { get; init; } = 4096;

    /// <summary>Idle time before the master pings a client's connection.</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection whose ping is not answered within this is closed, and its sessions aborted.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The TLS handshake must finish within this.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP/2 receive window of a connection (all its streams), bytes. Kestrel's default is 128 KiB.</summary>
    public int InitialConnectionWindowSize { get; init; } = 4 << 20;

    /// <summary>HTTP/2 receive window of one stream, bytes: a whole update fits without waiting for window updates. Kestrel's default is 96 KiB.</summary>
    public int InitialStreamWindowSize { get; init; } = 2 << 20;

    /// <summary>Streams one connection may have open at once (a client needs one; a reconnect opens a new connection).</summary>
    public int MaxStreamsPerConnection { get; init; } = 4;

    /// <summary>
    /// Size of the blocks that the connections' receive and pipe buffers come in, bytes (see
    /// <see cref="BlockMemoryPoolFactory"/>): at least a TLS record. 0 keeps Kestrel's own pool (4 KiB blocks).
    /// </summary>
    public int BufferBlockSize { get; init; } = 32 << 10;
}

/// <summary>
/// The master's gRPC endpoint: Kestrel, HTTP/2 only, serving <c>fednl.v3.Federation/Session</c>. With TLS it
/// requires a client certificate that chains to the run's CA alone (no system roots, no revocation check: offline
/// machines); a refused handshake is logged with why. Every accepted stream becomes a <see cref="GrpcPeer"/> handed
/// to the session callback; the stream lives until the peer is closed or vanishes. Framework logs go to
/// <see cref="GrpcHostOptions.Log"/> (warnings and errors only), never to stdout; Ctrl-C is left to the caller.
/// </summary>
public sealed class GrpcMasterHost : IEngineListener
{
    private readonly WebApplication _app;
    private readonly GrpcHostOptions _options;
    private readonly Func<GrpcPeer, Task> _onSession;
    private readonly ConcurrentDictionary<GrpcPeer, byte> _peers = new();
    private bool _disposed;

    private GrpcMasterHost(WebApplication app, GrpcHostOptions options, Func<GrpcPeer, Task> onSession, IPEndPoint endpoint)
    {
        _app = app;
        _options = options;
        _onSession = onSession;
        Endpoint = endpoint;
    }

    /// <summary>The endpoint actually bound.</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>Sessions open now.</summary>
    public int OpenSessions => _peers.Count;

    /// <summary>
    /// Starts listening. <paramref name="onSession"/> is called once per accepted stream; the stream stays open after
    /// it returns, until <see cref="GrpcPeer.Close()"/> or the peer vanishes. An exception from it is logged and
    /// ends that stream with status Internal.
    /// </summary>
    /// <param name="options">Endpoint, TLS, limits, keepalive, log.</param>
    /// <param name="onSession">What to do with a new session (e.g. read its Hello and queue it in the lobby).</param>
    /// <param name="token">Cancels the start.</param>
    public static async Task<GrpcMasterHost> StartAsync(GrpcHostOptions options, Func<GrpcPeer, Task> onSession, CancellationToken token)
    {
        int ceiling = GrpcMessageLimits.Ceiling(options.MaxDimension);
        // The empty builder reads no configuration (no appsettings.json, no ASPNETCORE_* variables) and logs nowhere.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "fednl-master", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(new ActionLoggerProvider(options.Log));
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>(); // no Ctrl-C or SIGTERM handling of its own
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = ceiling;
            o.MaxSendMessageSize = ceiling;
            o.EnableDetailedErrors = false;
        });
        GrpcMasterHost? host = null;
        var endpoint = new FederationEndpoint(() => host!);
        builder.Services.AddSingleton(endpoint);
        builder.Services.AddSingleton<IServiceMethodProvider<FederationEndpoint>>(new FederationEndpoint.MethodProvider());
        builder.Services.Configure<SocketTransportOptions>(o => o.CreateBoundListenSocket = ReusableListenSocket);
        builder.WebHost.UseKestrelCore();
        // After UseKestrelCore, so that this factory, not Kestrel's, is the one the transport takes.
        if (options.BufferBlockSize != 0) builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(new BlockMemoryPoolFactory(options.BufferBlockSize));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // a session is one request for the whole run; messages are limited one by one
            k.Limits.MinRequestBodyDataRate = null; // a client computes between messages
            k.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            k.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            k.Limits.Http2.InitialConnectionWindowSize = options.InitialConnectionWindowSize;
            k.Limits.Http2.InitialStreamWindowSize = options.InitialStreamWindowSize;
            k.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            k.Listen(options.Listen, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (options.Tls is { } tls)
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        HandshakeTimeout = options.HandshakeTimeout,
                        OnConnection = context => ValueTask.FromResult(ServerTls(tls, context.Connection.RemoteEndPoint, options.Log)),
                    });
            });
        });
        var app = builder.Build();
        app.MapGrpcService<FederationEndpoint>();
        try
        {
            await app.StartAsync(token).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"cannot listen on {options.Listen}: {e.Message}", e);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException($"the gRPC host on {options.Listen} reported no bound address");
        var bound = new IPEndPoint(options.Listen.Address, new Uri(address).Port);
        host = new GrpcMasterHost(app, options, onSession, bound);
        return host;
    }

    /// <summary>A resumed master must be able to bind the port its killed predecessor used.</summary>
    private static Socket ReusableListenSocket(EndPoint endpoint)
    {
        if (OperatingSystem.IsWindows()) return SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint is IPEndPoint { Address: var a } && a.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return socket;
    }

    /// <summary>The TLS options of one connection: the master's certificate, a client certificate required and checked against the run's CA.</summary>
    private static SslServerAuthenticationOptions ServerTls(TlsSettings tls, EndPoint? remote, Action<string> log) => new()
    {
        ServerCertificate = tls.Certificate,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        ApplicationProtocols = [SslApplicationProtocol.Http2],
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (tls.IsIssuedByAuthority(certificate, out string problem)) return true;
            log($"{remote?.ToString() ?? "unknown peer"}: TLS refused: client certificate {(certificate is null ? "missing" : $"'{certificate.Subject}'")}: {problem}");
            return false;
        },
    };

    private async Task RunSessionAsync(IAsyncStreamReader<RawEnvelope> requests, IServerStreamWriter<MasterMessage> responses, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var certificate = http.Connection.ClientCertificate;
        int id = certificate is null ? -1 : CertificateAuthority.ClientIdOf(certificate);
        string remote = http.Connection.RemoteIpAddress is { } ip ? new IPEndPoint(ip, http.Connection.RemotePort).ToString() : "unknown peer";
        var peer = new GrpcPeer(requests, responses, id, remote, http.RequestAborted);
        if (_disposed)
            throw new RpcException(new Status(StatusCode.Unavailable, "the master is shutting down"));
        _peers.TryAdd(peer, 0);
        Status status;
        try
        {
            // Headers now, so the client knows its session is open before the first message.
            await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
            await _onSession(peer).ConfigureAwait(false);
            status = await peer.WaitClosedAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException)
        {
            if (!http.RequestAborted.IsCancellationRequested) _options.Log($"{peer.Peer}: session failed: {e.Message}");
            peer.Close(StatusCode.Internal, "the master failed this session (see its log)");
            status = new Status(StatusCode.Internal, "the master failed this session (see its log)");
        }
        finally
        {
            _peers.TryRemove(peer, out _);
        }
        if (status.StatusCode != StatusCode.OK && !http.RequestAborted.IsCancellationRequested) throw new RpcException(status);
    }

    /// <summary>Closes every open session (status Unavailable) and stops listening.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var peer in _peers.Keys) peer.Close(StatusCode.Unavailable, "the master is shutting down");
        // Let every session's call end with its status before the connections close (bounded: a stuck peer is aborted).
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while (!_peers.IsEmpty && waiting.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(10).ConfigureAwait(false);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The gRPC service: its one method is bound by <see cref="MethodProvider"/> with size-checking marshallers.</summary>
    internal sealed class FederationEndpoint(Func<GrpcMasterHost> host)
    {
        public Task SessionAsync(IAsyncStreamReader<RawEnvelope> requests, IServerStreamWriter<MasterMessage> responses, ServerCallContext context) =>
            host().RunSessionAsync(requests, responses, context);

        internal sealed class MethodProvider : IServiceMethodProvider<FederationEndpoint>
        {
            public void OnServiceMethodDiscovery(ServiceMethodProviderContext<FederationEndpoint> context) =>
                context.AddDuplexStreamingMethod(FederationMethod.ForMaster(), [], (service, requests, responses, call) => service.SessionAsync(requests, responses, call));
        }
    }

    /// <summary>The host runs until disposed; it never listens for Ctrl-C or SIGTERM itself.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Warnings and errors of the framework to the master's log, one line each.</summary>
    private sealed class ActionLoggerProvider(Action<string> log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(log, categoryName);
        public void Dispose() { }

        private sealed class Logger(Action<string> log, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel)) return;
                string text = formatter(state, exception);
                if (exception is not null) text += $" ({exception.GetType().Name}: {exception.Message})";
                log($"grpc {logLevel.ToString().ToLowerInvariant()} ({category}): {text.ReplaceLineEndings(" ")}");
            }
        }
    }
}
