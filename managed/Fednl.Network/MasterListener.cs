using System.Net.Security;
using System.Net.Sockets;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Messages;
using Fednl.Network.Wire;

namespace Fednl.Network;

/// <summary>
/// Accepts client connections for the whole run: TLS handshake (mutual; the certificate names the client id),
/// Hello checked against the run (version, run id, id range, d, split settings, duplicates), Welcome sent back.
/// Before training starts a welcomed client waits in the lobby: a lobby client whose connection closes frees its
/// id at once, and d is settled only when all n are there (by <see cref="MasterSettings.Dimension"/> or the
/// checkpoint when given, else by what most clients report), so no single Hello — refused, departed or wrong — fixes
/// it for everyone. Later a welcomed client is handed to the transport to be restored (a rejoin). Each handshake
/// has its own timeout, so a silent or garbage peer costs one slot for a few seconds and nothing else; at most
/// <see cref="MaxPendingHandshakes"/> run at once.
/// </summary>
public sealed class MasterListener : IAsyncDisposable
{
    public const int MaxPendingHandshakes = 256;

    /// <summary>How often the lobby looks for clients whose connection closed while they waited.</summary>
    private static readonly TimeSpan LobbyCheck = TimeSpan.FromMilliseconds(250);

    private readonly TcpListener? _listener;
    private IEngineListener? _engineListener;
    private readonly MasterSettings _settings;
    private readonly Guid _runId;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _pending = new(MaxPendingHandshakes);
    private readonly object _gate = new();
    private readonly LobbyEntry?[] _lobby;
    private readonly SemaphoreSlim _lobbyChanged = new(0);
    private Task? _acceptLoop;
    private ClientLink[]? _links;
    private Func<ClientLink[]>? _createLinks;
    private readonly bool _resumed;
    private int _dimension;
    private NetworkTransport? _transport;

    /// <summary>A client waiting for the run to start; <see cref="Welcomed"/> once its Welcome is out.</summary>
    private sealed record LobbyEntry(Hello Hello, IClientChannel Connection)
    {
        public bool Welcomed { get; set; }
    }

    /// <param name="settings">Where to listen, the run's settings, security and timeouts.</param>
    /// <param name="runId">The run's id, checked against a rejoining client's Hello.</param>
    /// <param name="dimension">d from the checkpoint or <c>--dimension</c>; 0 lets the clients settle it.</param>
    /// <param name="resumed">d comes from a checkpoint (so a client's error names no flag).</param>
    public MasterListener(MasterSettings settings, Guid runId, int dimension, bool resumed = false)
    {
        _settings = settings;
        _runId = runId;
        _dimension = dimension;
        _resumed = resumed;
        _lobby = new LobbyEntry?[settings.Clients];
        if (settings.Engine is not null) return;
        _listener = new TcpListener(settings.Listen);
        // A resumed master must be able to bind the port its killed predecessor used.
        if (!OperatingSystem.IsWindows()) _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
    }

    /// <summary>The endpoint actually bound (port 0 picks a free one).</summary>
    public IPEndPoint Endpoint => _engineListener?.Endpoint ?? (IPEndPoint)_listener!.LocalEndpoint;

    /// <summary>d: fixed by the checkpoint or <c>--dimension</c>, else settled when all clients have joined (0 before).</summary>
    public int Dimension { get { lock (_gate) return _dimension; } }

    /// <summary>Starts accepting; <paramref name="createLinks"/> makes the clients' links once d is known.</summary>
    public void Start(Func<ClientLink[]> createLinks)
    {
        _createLinks = createLinks;
        if (_settings.Engine is { } engine)
        {
            _engineListener = engine.ListenAsync(_settings.Listen, _settings.Tls, _settings.HandshakeTimeout, _settings.Log, AdmitSessionAsync, _stop.Token)
                .GetAwaiter().GetResult();
            return;
        }
        try
        {
            _listener!.Start(backlog: Math.Max(64, _settings.Clients));
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot listen on {_settings.Listen}: {e.Message}", e);
        }
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    /// <summary>From now on (a private run has started), a client that connects is refused: private mode has no rejoin.</summary>
    public void StartRelaying()
    {
        lock (_gate) _relaying = true;
    }

    private bool _relaying;

    /// <summary>From now on, welcomed clients go to <paramref name="transport"/> as rejoins.</summary>
    public void HandOver(NetworkTransport transport)
    {
        lock (_gate) _transport = transport;
    }

    /// <summary>
    /// Waits until every client is in the lobby and agrees on d, then makes them live. Throws naming the absent ones
    /// after the join timeout, or naming the clients when they disagree on d with no majority.
    /// </summary>
    public async Task<ClientLink[]> WaitForAllAsync(TimeSpan timeout, CancellationToken token)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            token.ThrowIfCancellationRequested();
            lock (_gate)
            {
                DropDeparted();
                if (_lobby.All(e => e is { Welcomed: true }) && Settle() is { } links) return links;
            }
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero) break;
            await _lobbyChanged.WaitAsync(left < LobbyCheck ? left : LobbyCheck, token).ConfigureAwait(false);
        }
        int[] absent;
        lock (_gate) absent = Enumerable.Range(0, _lobby.Length).Where(i => _lobby[i] is null).ToArray();
        throw new ClientLostException($"{absent.Length} of {_settings.Clients} clients did not join within {timeout.TotalSeconds:0.#} s " +
                                      $"(missing: {string.Join(", ", absent.Take(20))}{(absent.Length > 20 ? ", ..." : "")})");
    }

    /// <summary>Lobby clients whose connection closed (killed, gave up) leave it; their ids are free again.</summary>
    private void DropDeparted()
    {
        for (int i = 0; i < _lobby.Length; i++)
            if (_lobby[i] is { } entry && entry.Connection.HasClosed)
                Leave(i, "left before the run started (connection closed); its id is free again");
    }

    private void Leave(int id, string why)
    {
        var entry = _lobby[id]!;
        _lobby[id] = null;
        _settings.Log($"{entry.Connection.Peer} {why}");
        entry.Connection.Dispose();
    }

    /// <summary>
    /// With every id in the lobby: settles d (fixed, or what most clients report), refuses the clients that disagree
    /// (their ids free again), and returns the live links once all agree; null while some are still to come.
    /// </summary>
    private ClientLink[]? Settle()
    {
        int d = _dimension;
        if (d == 0)
        {
            var votes = _lobby.GroupBy(e => e!.Hello.Features).Select(g => (Features: g.Key, Count: g.Count()))
                .OrderByDescending(v => v.Count).ToArray();
            if (votes.Length > 1 && votes[0].Count == votes[1].Count)
            {
                string message = "the clients disagree on d with no majority (" +
                                 string.Join(", ", _lobby.Select(e => $"client {e!.Hello.ClientId}: d = {e.Hello.Features}")) +
                                 "); give every client the same features (--add-intercept, --dimension) or state d with the master's --dimension";
                for (int i = 0; i < _lobby.Length; i++)
                {
                    _ = RefuseAsync(_lobby[i]!.Connection, message);
                    _lobby[i] = null;
                }
                throw new ClientLostException(message);
            }
            d = votes[0].Features;
        }
        bool refused = false;
        for (int i = 0; i < _lobby.Length; i++)
        {
            var entry = _lobby[i]!;
            if (entry.Hello.Features == d) continue;
            string message = $"has d = {entry.Hello.Features}, the run has d = {d}" +
                             (_dimension == 0 ? $" (as {_lobby.Count(e => e!.Hello.Features == d)} of {_lobby.Length} clients report)" : "") +
                             "; check --add-intercept, or state d with --dimension";
            _lobby[i] = null;
            _settings.Log($"{entry.Connection.Peer} refused: {message}");
            _ = RefuseAsync(entry.Connection, message);
            refused = true;
        }
        if (refused) return null;

        var first = _lobby[0]!.Hello;
        foreach (var entry in _lobby)
            if (entry!.Hello.SplitClients != 0 && first.SplitClients != 0 && entry.Hello.DatasetSamples != first.DatasetSamples)
                throw new ClientLostException($"client {first.ClientId} and client {entry.Hello.ClientId} took their slices of different files " +
                                              $"({first.DatasetSamples} and {entry.Hello.DatasetSamples} samples)");
        _dimension = d;
        var links = _links ??= _createLinks!();
        for (int i = 0; i < links.Length; i++)
        {
            var entry = _lobby[i]!;
            var link = links[i];
            if (!_settings.Private) entry.Connection.UseRunLimits(RunSpec(d)); // a private relay sets its own limits
            lock (link)
            {
                link.Connection = entry.Connection;
                link.Samples = entry.Hello.Samples;
                link.DatasetSamples = entry.Hello.SplitClients != 0 ? entry.Hello.DatasetSamples : 0;
                link.MaxRowNormSquared = entry.Hello.MaxRowNormSquared;
                link.Salt = entry.Hello.Salt;
                link.Platform = entry.Hello.Platform;
                link.State = LinkState.Live;
            }
            _lobby[i] = null;
        }
        return links;
    }

    private static async Task RefuseAsync(IClientChannel connection, string message)
    {
        await connection.TrySendErrorAsync(ProtocolError.InconsistentSettings, message, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private async Task AcceptLoopAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            TcpClient tcp;
            try
            {
                tcp = await _listener!.AcceptTcpClientAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (token.IsCancellationRequested) return;
                continue;
            }
            if (!_pending.Wait(0))
            {
                _settings.Log($"{tcp.Client.RemoteEndPoint}: refused, {MaxPendingHandshakes} handshakes already pending");
                tcp.Dispose();
                continue;
            }
            _ = HandshakeAsync(tcp, token).ContinueWith(_ => _pending.Release(), TaskScheduler.Default);
        }
    }

    /// <summary>A framed connection: TLS (when on), then admission; a refused or failed peer is closed.</summary>
    private async Task HandshakeAsync(TcpClient tcp, CancellationToken stop)
    {
        string peer = tcp.Client.RemoteEndPoint?.ToString() ?? "unknown peer";
        ClientConnection? connection = null;
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
            connection = new ClientConnection(stream, peer, tcp.Client);
            kept = await AdmitAsync(connection, peer, certificateId, deadline.Token, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            _settings.Log($"{peer}: refused, no complete handshake within {_settings.HandshakeTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (!stop.IsCancellationRequested) _settings.Log($"{peer}: dropped during the handshake ({e.Message})");
        }
        finally
        {
            if (!kept)
            {
                if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
                tcp.Dispose();
            }
        }
    }

    /// <summary>A session of the engine (TLS already checked by it): admission with the handshake timeout; a refused peer is closed.</summary>
    private async Task AdmitSessionAsync(IClientChannel channel, int certificateId)
    {
        string peer = channel.Peer;
        if (!_pending.Wait(0))
        {
            _settings.Log($"{peer}: refused, {MaxPendingHandshakes} handshakes already pending");
            await channel.DisposeAsync().ConfigureAwait(false);
            return;
        }
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            deadline.CancelAfter(_settings.HandshakeTimeout);
            if (!await AdmitAsync(channel, peer, certificateId, deadline.Token, _stop.Token).ConfigureAwait(false))
                await channel.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _pending.Release();
        }
    }

    /// <summary>
    /// Reads the Hello, checks it against the run and the certificate's id, reserves the id, sends the Welcome and
    /// puts the client in the lobby (or queues its rejoin). True when the channel was kept; a refused peer is told
    /// why and logged, and the caller closes it.
    /// </summary>
    private async Task<bool> AdmitAsync(IClientChannel connection, string peer, int certificateId, CancellationToken deadline, CancellationToken stop)
    {
        try
        {
            ClientMessage first;
            try
            {
                first = (await connection.ReceiveAsync(deadline).ConfigureAwait(false)).Parse(ClientMessage.Parser, "message");
            }
            catch (ProtocolException) when (_settings.Tls is null && connection is ClientConnection { LooksLikeTls: true })
            {
                throw new ProtocolException(ProtocolError.UnsupportedVersion,
                    "sent a TLS handshake, but this master runs --insecure (plain TCP): give the client --insecure too, or run the master with --certs");
            }
            if (first.BodyCase != ClientMessage.BodyOneofCase.Hello)
                throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{first.BodyCase} before Hello");
            var hello = Hello.FromWire(first.Hello);
            connection.Peer = $"client {hello.ClientId} ({peer})";
            Check(hello, certificateId);
            var welcome = WelcomeFor(Dimension > 0 ? Dimension : hello.Features);
            // Frame buffers grow to the run's sizes only once d is settled: a lobby client costs a few KB whatever it claims.
            if (Dimension > 0 && !_settings.Private) connection.UseRunLimits(RunSpec(Dimension));
            lock (_gate)
            {
                // Reserve the id before the Welcome goes out, so two peers claiming one id cannot both be welcomed.
                Reserve(hello, connection);
            }
            try
            {
                await connection.SendAsync(new MasterMessage { Welcome = welcome.ToWire() }, deadline).ConfigureAwait(false);
            }
            catch
            {
                lock (_gate) Unreserve(hello.ClientId, connection);
                throw;
            }
            return Join(hello, connection);
        }
        catch (ProtocolException e)
        {
            _settings.Log($"{connection.Peer}: refused: {e.Message}");
            await connection.TrySendErrorAsync(e.Code, e.Message, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            _settings.Log($"{connection.Peer}: refused, no complete handshake within {_settings.HandshakeTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or PeerRefusedException)
        {
            if (!stop.IsCancellationRequested) _settings.Log($"{connection.Peer}: dropped during the handshake ({e.Message})");
        }
        catch (Exception e)
        {
            // One peer must never take the master down; say what happened and drop it.
            _settings.Log($"{connection.Peer}: dropped, unexpected {e.GetType().Name} during the handshake: {e.Message}");
        }
        return false;
    }

    /// <summary>Checks a Hello against the run's settings; throws what to tell the peer.</summary>
    private void Check(Hello hello, int certificateId)
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
        if (hello.PrivateMode != _settings.Private)
            throw new ProtocolException(ProtocolError.InconsistentSettings, _settings.Private
                ? "is not a private client, and this master runs --private: give every client --private --key FILE"
                : "is a private client (--private), and this master does not run --private: start the master with --private");
        // a private client withholds its sample count and row norms (the clients agree on them sealed)
        if (hello.Features < 1 || (hello.Samples < 1 && !hello.PrivateMode))
            throw new ProtocolException(ProtocolError.InconsistentSettings, $"reports d = {hello.Features} and {hello.Samples} samples");
        if (hello.SplitClients != 0 && (hello.SplitClients != n || hello.SplitSeed != _settings.Options.Seed))
            throw new ProtocolException(ProtocolError.InconsistentSettings,
                $"took its slice of a split into {hello.SplitClients} clients with seed {hello.SplitSeed}; this run has {n} clients and seed {_settings.Options.Seed}");
        if (hello.SplitClients != 0 && hello.KeepAll != _settings.Options.KeepAllSamples)
            throw new ProtocolException(ProtocolError.InconsistentSettings, hello.KeepAll
                ? "took its slice of a split that keeps every sample (--keep-all); this run drops the N mod n leftovers (give both or neither --keep-all)"
                : "took its slice of a split that drops the N mod n leftovers; this run keeps every sample (--keep-all): give the client --keep-all too");
        if (!double.IsFinite(hello.MaxRowNormSquared) || hello.MaxRowNormSquared < 0)
            throw new ProtocolException(ProtocolError.MalformedFrame, $"reports max row norm² {hello.MaxRowNormSquared}");
        try
        {
            var spec = RunSpec(hello.Features);
            _ = Protocol.ClientFrameLimit(spec);
            _ = Protocol.MasterFrameLimit(hello.Features);
            if (_settings.Private) _ = Protocol.PrivateBundleLimit(spec, n);
        }
        catch (ArgumentException e) when (e is not ArgumentOutOfRangeException)
        {
            throw new ProtocolException(ProtocolError.InconsistentSettings, $"has d = {hello.Features}: {e.Message}");
        }
        catch (Exception e) when (e is OverflowException or ArgumentException)
        {
            throw new ProtocolException(ProtocolError.InconsistentSettings,
                _settings.Private
                    ? $"has d = {hello.Features}: a private run's bundle (every client's d×d initial state) must fit in a 2 GB frame; use fewer clients or a sparser compressor"
                    : $"has d = {hello.Features}: a networked run's messages (one client's d×d state) must fit in 2 GB frames");
        }
        if (_settings.Engine is { } engine && hello.Features > engine.MaxDimension)
            throw new ProtocolException(ProtocolError.InconsistentSettings,
                $"has d = {hello.Features}, above the {engine.Name} engine's largest d of {engine.MaxDimension}; start the master with --max-dimension {hello.Features} (or --dimension {hello.Features})");
        int d = Dimension;
        if (d > 0 && hello.Features != d)
            throw new ProtocolException(ProtocolError.InconsistentSettings,
                $"has d = {hello.Features}, the run has d = {d}{(_resumed ? "" : " (--dimension)")}; check --add-intercept, or give the client --dimension {d}");
    }

    /// <summary>Claims the Hello's id for this connection, or throws DuplicateClient while its holder is connected.</summary>
    private void Reserve(Hello hello, IClientChannel connection)
    {
        int id = hello.ClientId;
        if (_transport is null && !_relaying)
        {
            if (_lobby[id] is { } holder)
            {
                if (!holder.Connection.HasClosed)
                    throw new ProtocolException(ProtocolError.DuplicateClient, $"client id {id} is already connected ({holder.Connection.Peer})");
                Leave(id, "left before the run started (connection closed); its id is free again");
            }
            _lobby[id] = new LobbyEntry(hello, connection);
            return;
        }
        if (_settings.Private)
            throw new ProtocolException(ProtocolError.InconsistentSettings,
                $"client id {id}: the private run has started, and private mode does not support rejoining (the clients hold the state; restart the run from the clients' checkpoints)");
        var link = _links![id];
        lock (link)
        {
            if (link.State == LinkState.Live || link.Connection is not null)
                throw new ProtocolException(ProtocolError.DuplicateClient, $"client id {id} is already connected ({link.Describe()})");
            link.Connection = connection; // reserved; Join queues the rejoin
            link.Samples = hello.Samples;
            link.MaxRowNormSquared = hello.MaxRowNormSquared;
        }
    }

    private void Unreserve(int id, IClientChannel connection)
    {
        if (_transport is null && !_relaying)
        {
            if (_lobby[id]?.Connection == connection) _lobby[id] = null;
            return;
        }
        var link = _links![id];
        lock (link)
            if (link.Connection == connection) link.Connection = null;
    }

    private bool Join(Hello hello, IClientChannel connection)
    {
        lock (_gate)
        {
            if (_transport is null)
            {
                if (_lobby[hello.ClientId] is not { } entry || entry.Connection != connection) return false; // it left meanwhile
                entry.Welcomed = true;
                _settings.Log($"{connection.Peer} joined");
                _lobbyChanged.Release();
            }
            else
            {
                _settings.Log($"{connection.Peer} reconnected; it rejoins at the next round");
                _transport.OfferRejoin(_links![hello.ClientId]);
            }
        }
        return true;
    }

    private CompressorSpec RunSpec(int dimension) => new(_settings.Options.Compressor, dimension, _settings.Options.KMultiplier, _settings.Clients);

    private Welcome WelcomeFor(int dimension)
    {
        var o = _settings.Options;
        var spec = RunSpec(dimension);
        double alpha = o.Alpha ?? spec.DefaultAlpha(o.Option);
        return new Welcome(_runId, _settings.Clients, dimension, o.Algorithm, o.Compressor, o.Option, o.KMultiplier, spec.K,
            o.Lambda, alpha, o.Seed)
        {
            Private = _settings.Private ? Welcome.PrivateSettingsOf(o, _settings.LossPolicy) : null,
        };
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener?.Stop();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        if (_engineListener is not null) await _engineListener.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
            for (int i = 0; i < _lobby.Length; i++)
                if (_lobby[i] is { } entry)
                {
                    _lobby[i] = null;
                    entry.Connection.Dispose();
                }
        _stop.Dispose();
    }
}
