using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fednl.Algorithms;
using Fednl.Compression;

namespace Fednl.Network;

/// <summary>
/// Accepts client connections for the whole run: TLS handshake (mutual; the certificate names the client id),
/// Hello checked against the run (version, run id, id range, d, split settings, duplicates), Welcome sent back.
/// Before training starts a welcomed client joins directly; later it is handed to the transport to be restored
/// (a rejoin). Each handshake has its own timeout, so a silent or garbage peer costs one slot for a few seconds
/// and nothing else; at most <see cref="MaxPendingHandshakes"/> run at once.
/// </summary>
public sealed class MasterListener : IAsyncDisposable
{
    public const int MaxPendingHandshakes = 256;

    private readonly TcpListener _listener;
    private readonly MasterSettings _settings;
    private readonly ClientLink[] _links;
    private readonly Guid _runId;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _pending = new(MaxPendingHandshakes);
    private readonly object _gate = new();
    private Task? _acceptLoop;
    private int _dimension;
    private NetworkTransport? _transport;
    private readonly TaskCompletionSource _allJoined = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MasterListener(MasterSettings settings, ClientLink[]? links, Guid runId, int dimension)
    {
        _settings = settings;
        _runId = runId;
        _dimension = dimension;
        _links = links ?? [];
        _listener = new TcpListener(settings.Listen);
        // A resumed master must be able to bind the port its killed predecessor used.
        if (!OperatingSystem.IsWindows()) _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
    }

    /// <summary>The endpoint actually bound (port 0 picks a free one).</summary>
    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>d, fixed by the first valid Hello (or the checkpoint).</summary>
    public int Dimension { get { lock (_gate) return _dimension; } }

    public ClientLink[] Links => _links;

    /// <summary>Starts accepting; <paramref name="createLinks"/> makes the clients' links once d is known (fresh runs).</summary>
    public void Start(Func<int, ClientLink[]> createLinks)
    {
        _createLinks = createLinks;
        try
        {
            _listener.Start(backlog: Math.Max(64, _settings.Clients));
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot listen on {_settings.Listen}: {e.Message}", e);
        }
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    private Func<int, ClientLink[]>? _createLinks;
    private ClientLink[]? _created;

    private ClientLink[] LinksFor(int dimension)
    {
        if (_links.Length > 0) return _links;
        return _created ??= _createLinks!(dimension);
    }

    /// <summary>From now on, welcomed clients go to <paramref name="transport"/> as rejoins.</summary>
    public void HandOver(NetworkTransport transport)
    {
        lock (_gate) _transport = transport;
    }

    /// <summary>Waits until every client has joined; throws naming the absent ones after the join timeout.</summary>
    public async Task<ClientLink[]> WaitForAllAsync(TimeSpan timeout, CancellationToken token)
    {
        var all = _allJoined.Task;
        var finished = await Task.WhenAny(all, Task.Delay(timeout, token)).ConfigureAwait(false);
        token.ThrowIfCancellationRequested();
        if (finished != all)
        {
            int[] absent;
            lock (_gate)
                absent = _created is null && _links.Length == 0
                    ? Enumerable.Range(0, _settings.Clients).ToArray()
                    : LinksFor(_dimension).Where(l => l.State != LinkState.Live).Select(l => l.Id).ToArray();
            throw new ClientLostException($"{absent.Length} of {_settings.Clients} clients did not join within {timeout.TotalSeconds:0.#} s " +
                                          $"(missing: {string.Join(", ", absent.Take(20))}{(absent.Length > 20 ? ", ..." : "")})");
        }
        lock (_gate) return LinksFor(_dimension);
    }

    private async Task AcceptLoopAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            TcpClient tcp;
            try
            {
                tcp = await _listener.AcceptTcpClientAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (token.IsCancellationRequested) return;
                continue;
            }
            if (!await _pending.WaitAsync(0, token).ConfigureAwait(false))
            {
                _settings.Log($"{tcp.Client.RemoteEndPoint}: refused, {MaxPendingHandshakes} handshakes already pending");
                tcp.Dispose();
                continue;
            }
            _ = HandshakeAsync(tcp, token).ContinueWith(_ => _pending.Release(), TaskScheduler.Default);
        }
    }

    private async Task HandshakeAsync(TcpClient tcp, CancellationToken stop)
    {
        string peer = tcp.Client.RemoteEndPoint?.ToString() ?? "unknown peer";
        FrameConnection? connection = null;
        ClientLink? reserved = null;
        bool kept = false;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        deadline.CancelAfter(_settings.HandshakeTimeout);
        try
        {
            tcp.NoDelay = true;
            Stream stream = tcp.GetStream();
            int certificateId = -1;
            if (_settings.Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                try
                {
                    await ssl.AuthenticateAsServerAsync(tls.ServerOptions(), deadline.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is AuthenticationException or IOException)
                {
                    string detail = e.InnerException?.Message ?? e.Message;
                    _settings.Log($"{peer}: refused, TLS handshake failed ({detail}; a client needs a certificate issued by this run's CA)");
                    await ssl.DisposeAsync().ConfigureAwait(false);
                    return;
                }
                using var remote = ssl.RemoteCertificate is null ? null : X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate.GetRawCertData());
                certificateId = remote is null ? -1 : CertificateAuthority.ClientIdOf(remote);
            }
            connection = new FrameConnection(stream, peer);
            var first = await connection.ReceiveAsync(deadline.Token).ConfigureAwait(false);
            if (first.Type != FrameType.Hello)
                throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{first.Type} frame before Hello");
            var hello = Hello.Read(first.Payload.Span);
            connection.Peer = $"client {hello.ClientId} ({peer})";
            var link = reserved = Admit(hello, certificateId, connection);
            var welcome = WelcomeFor(Dimension);
            var spec = welcome.Spec();
            connection.UseLimits(Protocol.ClientFrameLimit(spec), Protocol.MasterFrameLimit(spec.Dimension));
            int length = welcome.Write(connection.SendPayload);
            await connection.SendAsync(FrameType.Welcome, length, deadline.Token).ConfigureAwait(false);
            kept = Join(link, connection);
        }
        catch (ProtocolException e)
        {
            _settings.Log($"{connection?.Peer ?? peer}: refused: {e.Message}");
            if (connection is not null) await connection.TrySendErrorAsync(e.Code, e.Message, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            _settings.Log($"{connection?.Peer ?? peer}: refused, no complete handshake within {_settings.HandshakeTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or PeerRefusedException)
        {
            if (!stop.IsCancellationRequested) _settings.Log($"{connection?.Peer ?? peer}: dropped during the handshake ({e.Message})");
        }
        catch (Exception e)
        {
            // One peer must never take the master down; say what happened and drop it.
            _settings.Log($"{connection?.Peer ?? peer}: dropped, unexpected {e.GetType().Name} during the handshake: {e.Message}");
        }
        finally
        {
            if (!kept)
            {
                if (reserved is not null)
                    lock (reserved)
                        if (reserved.Connection == connection) reserved.Connection = null;
                if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
                tcp.Dispose();
            }
        }
    }

    /// <summary>Checks a Hello against the run; returns the client's link or throws what to tell the peer.</summary>
    private ClientLink Admit(Hello hello, int certificateId, FrameConnection connection)
    {
        int n = _settings.Clients;
        if (hello.ClientId < 0 || hello.ClientId >= n)
            throw new ProtocolException(ProtocolError.InconsistentSettings, $"client id {hello.ClientId} is outside [0, {n})");
        if (_settings.Tls is not null && certificateId != hello.ClientId)
            throw new ProtocolException(ProtocolError.NotAuthorised, certificateId < 0
                ? $"claims client id {hello.ClientId} but its certificate names no client"
                : $"claims client id {hello.ClientId} but its certificate is for client {certificateId}");
        if (hello.RunId != Guid.Empty && hello.RunId != _runId)
            throw new ProtocolException(ProtocolError.WrongRun, $"belongs to run {hello.RunId}, this is run {_runId}");
        if (hello.Features < 1 || hello.Samples < 1)
            throw new ProtocolException(ProtocolError.InconsistentSettings, $"reports d = {hello.Features} and {hello.Samples} samples");
        if (hello.SplitClients != 0 && (hello.SplitClients != n || hello.SplitSeed != _settings.Options.Seed))
            throw new ProtocolException(ProtocolError.InconsistentSettings,
                $"took its slice of a split into {hello.SplitClients} clients with seed {hello.SplitSeed}; this run has {n} clients and seed {_settings.Options.Seed}");
        if (!double.IsFinite(hello.MaxRowNormSquared) || hello.MaxRowNormSquared < 0)
            throw new ProtocolException(ProtocolError.MalformedFrame, $"reports max row norm² {hello.MaxRowNormSquared}");
        lock (_gate)
        {
            if (_dimension == 0) _dimension = hello.Features;
            else if (hello.Features != _dimension)
                throw new ProtocolException(ProtocolError.InconsistentSettings, $"has d = {hello.Features}, the run has d = {_dimension}");
            var link = LinksFor(_dimension)[hello.ClientId];
            lock (link)
            {
                if (link.State == LinkState.Live || link.Connection is not null)
                    throw new ProtocolException(ProtocolError.DuplicateClient, $"client id {hello.ClientId} is already connected ({link.Describe()})");
                link.Connection = connection; // reserved; Join makes it live or queues the rejoin
                link.Samples = hello.Samples;
                link.MaxRowNormSquared = hello.MaxRowNormSquared;
            }
            return link;
        }
    }

    private bool Join(ClientLink link, FrameConnection connection)
    {
        lock (_gate)
        {
            if (_transport is null)
            {
                lock (link) link.State = LinkState.Live;
                _settings.Log($"{connection.Peer} joined");
                if (LinksFor(_dimension).All(l => l.State == LinkState.Live)) _allJoined.TrySetResult();
            }
            else
            {
                _settings.Log($"{connection.Peer} reconnected; it rejoins at the next round");
                _transport.OfferRejoin(link);
            }
        }
        return true;
    }

    private Welcome WelcomeFor(int dimension)
    {
        var o = _settings.Options;
        var spec = new CompressorSpec(o.Compressor, dimension, o.KMultiplier);
        double alpha = o.Alpha ?? spec.DefaultAlpha(o.Option);
        return new Welcome(_runId, _settings.Clients, dimension, o.Algorithm, o.Compressor, o.Option, o.KMultiplier, spec.K,
            o.Lambda, alpha, o.Seed);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
