using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Fednl.Algorithms;
using Fednl.Clients;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Messages;
using Fednl.Network.Wire;
using Fednl.Reporting;

namespace Fednl.Network;

/// <summary>How a client connects and what it trains on.</summary>
public sealed record ClientSettings
{
    public required string MasterHost { get; init; }
    public required int MasterPort { get; init; }
    public required int Id { get; init; }
    /// <summary>This client's rows (its slice of a shared file, or its own local file).</summary>
    public required Dataset Data { get; init; }
    /// <summary>n, seed and mode of the split the slice came from, and the whole file's sample count; 0 for local data.</summary>
    public int SplitClients { get; init; }
    public ulong SplitSeed { get; init; }
    public bool KeepAll { get; init; }
    public long DatasetSamples { get; init; }
    public TlsSettings? Tls { get; init; }
    /// <summary>Keep retrying to reach the master for this long (backoff 0.2 s doubling to 5 s).</summary>
    public TimeSpan RetryFor { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Give up on a master that sends nothing for this long.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(600);
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public HessianPath HessianPath { get; init; } = HessianPath.Auto;
    /// <summary>What carries the messages: null is the built-in framed TCP, else e.g. the gRPC engine (the master's must match).</summary>
    public INetworkEngine? Engine { get; init; }
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Private mode (docs/privacy.md: <see cref="Private.PrivateClientMode"/>); null for a normal client.</summary>
    public IPrivateClientMode? Private { get; init; }
}

/// <summary>
/// Private mode as the client loop sees it: it decorates the Hello, and after the Welcome it runs the whole run
/// over the connection (the client then runs the server step too). <see cref="Private.PrivateClientMode"/> is the
/// implementation; the seam keeps the normal client below the private mode's layer.
/// </summary>
public interface IPrivateClientMode
{
    /// <summary>The Hello with the private fields: a fresh salt share for this connection, the platform, the run id to resume.</summary>
    Hello Prepare(Hello hello);

    /// <summary>The run, after the master's Welcome; returns how it ended (its result, the history so far on a failure).</summary>
    RunEnd Run(MasterConnection connection, Welcome welcome, ClientSettings settings, CancellationToken token);
}

/// <summary>
/// How the run ended: <see cref="Failed"/> when it stopped on a failure, and its reason. A private client also
/// holds the run's result (the history so far when it failed) and the bytes it sent and received.
/// </summary>
public sealed record RunEnd(bool Failed, string Reason)
{
    public TrainingResult? Result { get; init; }
    public long BytesSent { get; init; }
    public long BytesReceived { get; init; }
}

/// <summary>A private run failed after it started: not retried (private mode has no rejoin); the end says why.</summary>
internal sealed class PrivateRunEndedException(RunEnd end) : Exception(end.Reason)
{
    public RunEnd End { get; } = end;
}

/// <summary>The master refused this client, or broke the protocol: retrying would not help.</summary>
public sealed class ClientRefusedException(string message) : Exception(message);

/// <summary>
/// A client of a networked run (`fednl client`): connects (retrying with backoff), says Hello, and then answers the
/// master's requests with the same client code the single-node simulation runs, until the master says the run is
/// over. If the master vanishes it reconnects; the master then restores its state, so nothing is lost.
/// </summary>
public static class NetworkClient
{
    /// <summary>
    /// Runs until the master shuts the run down and returns how it ended. The retry window (<see cref="ClientSettings.RetryFor"/>)
    /// counts from the start and, after a drop, from the moment the connection was lost: a client waits that long for
    /// a master that crashed, however long the run had gone on.
    /// </summary>
    public static async Task<RunEnd> RunAsync(ClientSettings settings, CancellationToken token)
    {
        var session = new Session(settings);
        var backoff = TimeSpan.FromSeconds(0.2);
        var window = Stopwatch.StartNew();
        string lastError = "";
        bool connected = false;
        int refusals = 0;
        while (true)
        {
            token.ThrowIfCancellationRequested();
            try
            {
                return await session.ConnectAndServeAsync(() => { backoff = TimeSpan.FromSeconds(0.2); connected = true; }, token).ConfigureAwait(false);
            }
            catch (PrivateRunEndedException e)
            {
                return e.End;
            }
            catch (PeerRefusedException e) when (e.Code is ProtocolError.DuplicateClient)
            {
                lastError = e.Message; // the master has not noticed our previous connection died yet
            }
            catch (PeerRefusedException e)
            {
                throw new ClientRefusedException($"the master refused client {settings.Id}: {e.Message}");
            }
            catch (ProtocolException e)
            {
                throw new ClientRefusedException($"the master broke the protocol: {e.Message}");
            }
            catch (AuthenticationException e) // a master that closed mid-handshake arrives as MasterClosedException
            {
                throw new ClientRefusedException($"TLS with the master failed: {TlsFailure(e)}");
            }
            catch (MasterClosedException e)
            {
                // A refusal closes at once; a master that is merely slow or restarting takes its handshake timeout.
                refusals = e.After < ImmediateClose ? refusals + 1 : 0;
                if (refusals == RefusalsToGiveUp)
                    throw new ClientRefusedException($"{e.Message}; it did so at once {RefusalsToGiveUp} times in a row, so this client gives up");
                lastError = e.Message;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException
                                          || (e is OperationCanceledException && !token.IsCancellationRequested))
            {
                lastError = e is OperationCanceledException ? "no complete handshake within the timeout" : e.Message;
            }
            if (connected)
            {
                window.Restart();
                connected = false;
            }
            if (window.Elapsed >= settings.RetryFor)
                throw new IOException($"could not reach the master at {settings.MasterHost}:{settings.MasterPort} for {settings.RetryFor.TotalSeconds:0.#} s (last error: {lastError})");
            settings.Log($"master {settings.MasterHost}:{settings.MasterPort}: {lastError}; retrying in {backoff.TotalSeconds:0.0} s");
            await Task.Delay(backoff, token).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    /// <summary>A master that closes this soon after the connection opened, before its Welcome, refused the client.</summary>
    private static readonly TimeSpan ImmediateClose = TimeSpan.FromSeconds(2);
    private const int RefusalsToGiveUp = 3;

    /// <summary>The peer closed the connection mid-handshake (a timeout, a restart, a refused certificate): worth retrying.</summary>
    private static bool MasterClosedDuringTls(AuthenticationException e) =>
        e.InnerException is IOException or EndOfStreamException || e.Message.Contains("EOF", StringComparison.Ordinal);

    private static string TlsFailure(AuthenticationException e)
    {
        string detail = e.InnerException?.Message ?? e.Message;
        if (e.Message.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal))
            return $"{e.Message} (the master's certificate is not from this run's CA, or does not name the host given to --master)";
        if (detail.Contains("wrong version number", StringComparison.OrdinalIgnoreCase) || detail.Contains("packet length too long", StringComparison.OrdinalIgnoreCase)
            || detail.Contains("corrupted frame", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("SSL_ERROR_SSL", StringComparison.Ordinal))
            return $"{detail} (the master does not speak TLS: does it run --insecure? then give this client --insecure too)";
        return detail;
    }

    /// <summary>One client's objects, kept across reconnections (rebuilt only if the master's settings change).</summary>
    private sealed class Session(ClientSettings settings) : IDisposable
    {
        private Welcome? _welcome;
        private ClientRole? _role;
        private ClientScratch? _scratch;
        private ClientRequest? _request;
        private ClientReply? _reply;
        private ClientState? _state;
        private Guid _runId;
        /// <summary>True once the master's --scale divisors arrived; the role then trains on scaled rows.</summary>
        private bool _scaled;

        public async Task<RunEnd> ConnectAndServeAsync(Action connected, CancellationToken token)
        {
            if (settings.Engine is { } engine) return await ConnectAndServeAsync(engine, connected, token).ConfigureAwait(false);
            var connecting = Stopwatch.StartNew();
            using var tcp = new TcpClient { NoDelay = true };
            using (var connect = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                connect.CancelAfter(settings.HandshakeTimeout);
                await tcp.ConnectAsync(settings.MasterHost, settings.MasterPort, connect.Token).ConfigureAwait(false);
            }
            Stream stream = tcp.GetStream();
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(token);
            handshake.CancelAfter(settings.HandshakeTimeout);
            if (settings.Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                try
                {
                    await ssl.AuthenticateAsClientAsync(tls.ClientOptions(settings.MasterHost), handshake.Token).ConfigureAwait(false);
                }
                catch (AuthenticationException e) when (MasterClosedDuringTls(e))
                {
                    throw new MasterClosedException(connecting.Elapsed,
                        "the master closed the connection during the TLS handshake (see its log: it refuses a certificate its CA did not issue)");
                }
            }
            await using var connection = new MasterConnection(stream, $"master {settings.MasterHost}:{settings.MasterPort}");
            await connection.SendAsync(new ClientMessage { Hello = HelloOf(settings.Data).ToWire() }, handshake.Token).ConfigureAwait(false);
            MasterMessage answer;
            try
            {
                answer = await connection.ReceiveAsync(handshake.Token).ConfigureAwait(false);
            }
            catch (ProtocolException) when (settings.Tls is null && connection.LooksLikeTls)
            {
                throw new ClientRefusedException("the master speaks TLS, but this client runs --insecure (plain TCP): drop --insecure and give --certs DIR");
            }
            catch (EndOfStreamException) when (settings.Tls is null)
            {
                throw new MasterClosedException(connecting.Elapsed,
                    "the master closed the connection before welcoming this client (see its log; a master that runs TLS closes plain TCP clients: drop --insecure and give --certs DIR)");
            }
            catch (IOException e) when (settings.Tls is not null)
            {
                throw new MasterClosedException(connecting.Elapsed,
                    $"the master closed the connection before welcoming this client ({e.Message}; see its log: it refuses a certificate its CA did not issue)");
            }
            return await WelcomedAsync(connection, answer, connected, token).ConfigureAwait(false);
        }

        /// <summary>Over another engine: open the session, Hello, Welcome, then serve.</summary>
        private async Task<RunEnd> ConnectAndServeAsync(INetworkEngine engine, Action connected, CancellationToken token)
        {
            var connecting = Stopwatch.StartNew();
            var data = settings.Data;
            await using var connection = await engine.ConnectAsync(settings.MasterHost, settings.MasterPort, settings.Tls, data.Features,
                settings.HandshakeTimeout, token).ConfigureAwait(false);
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(token);
            handshake.CancelAfter(settings.HandshakeTimeout);
            MasterMessage answer;
            try
            {
                await connection.SendAsync(new ClientMessage { Hello = HelloOf(data).ToWire() }, handshake.Token).ConfigureAwait(false);
                answer = await connection.ReceiveAsync(handshake.Token).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new MasterClosedException(connecting.Elapsed, $"the master ended the session before welcoming this client ({e.Message}; see its log)", e);
            }
            return await WelcomedAsync(connection, answer, connected, token).ConfigureAwait(false);
        }

        private Hello HelloOf(Dataset data)
        {
            var hello = new Hello(_runId, settings.Id, data.Features, data.Samples, settings.SplitClients, settings.SplitSeed,
                data.MaxRowNormSquared(), settings.KeepAll, settings.DatasetSamples);
            return settings.Private is { } mode ? mode.Prepare(hello) : hello;
        }

        /// <summary>Checks the master's answer to Hello, prepares the client for its settings, and serves the run.</summary>
        private async Task<RunEnd> WelcomedAsync(IMasterChannel connection, MasterMessage answer, Action connected, CancellationToken token)
        {
            var data = settings.Data;
            if (answer.BodyCase != MasterMessage.BodyOneofCase.Welcome)
                throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{answer.BodyCase} where Welcome was expected");
            var welcome = Welcome.FromWire(answer.Welcome);
            if (welcome.Features != data.Features)
                throw new ProtocolException(ProtocolError.InconsistentSettings, $"Welcome says d = {welcome.Features}, this client has d = {data.Features}");
            if (settings.Private is { } mode)
            {
                if (connection is not MasterConnection framed)
                    throw new ClientRefusedException("private mode runs over the framed engine only (drop --engine grpc)");
                connected();
                settings.Log($"connected to {connection.Peer} (private run {welcome.RunId}, {welcome.Algorithm} {welcome.Compressor.ToFlag()}, n = {welcome.Clients})");
                RunEnd end;
                try
                {
                    end = mode.Run(framed, welcome, settings, token);
                }
                catch (Exception e) when (e is ProtocolException or PeerRefusedException or IOException or OperationCanceledException or ClientLostException
                                              or ClientRefusedException)
                {
                    end = new RunEnd(true, e is OperationCanceledException ? $"client {settings.Id} was interrupted" : e.Message);
                }
                throw new PrivateRunEndedException(end);
            }
            Prepare(welcome);
            var spec = welcome.Spec();
            connection.UseRunLimits(spec);
            settings.Log($"connected to {connection.Peer} (run {welcome.RunId}, {welcome.Algorithm} {welcome.Compressor.ToFlag()}, n = {welcome.Clients})");
            connected();
            return await ServeAsync(connection, token).ConfigureAwait(false);
        }

        private void Prepare(Welcome welcome)
        {
            bool sameRun = welcome.RunId == _runId;
            _runId = welcome.RunId;
            if (_welcome is not null && _welcome with { RunId = welcome.RunId } == welcome && (!_scaled || sameRun)) return;
            _scaled = false;
            Dispose();
            _welcome = welcome;
            var spec = welcome.Spec();
            var client = new FedNLClient(settings.Id, settings.Data, welcome.Lambda, settings.HessianPath);
            _role = new ClientRole(client, welcome.Seed, welcome.Compressor, settings.HessianPath);
            _scratch = new ClientScratch(spec, [client]);
            _request = new ClientRequest(spec.Dimension);
            _reply = new ClientReply(settings.Id, spec);
            _state = new ClientState(settings.Id, spec.Dimension);
        }

        /// <summary>Receive a request, let the client role answer it, send the reply; until the master says the run is over.</summary>
        private async Task<RunEnd> ServeAsync(IMasterChannel connection, CancellationToken token)
        {
            var (role, request, reply, state) = (_role!, _request!, _reply!, _state!);
            var spec = _welcome!.Spec();
            var codes = new byte[WireCodec.NaturalBytes(spec.PackedLength)];
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(token);
            while (true)
            {
                idle.CancelAfter(settings.IdleTimeout);
                var message = await connection.ReceiveAsync(idle.Token).ConfigureAwait(false);
                if (message.BodyCase == MasterMessage.BodyOneofCase.Shutdown) return new RunEnd(message.Shutdown.Failed, message.Shutdown.Reason);
                if (!WireCodec.ReadRequest(message, request, state))
                    throw new ProtocolException(ProtocolError.UnexpectedFrame, $"unexpected {message.BodyCase} from the master");
                var before = role.Client;
                try
                {
                    role.Handle(request, _scratch!, reply);
                }
                catch (ArgumentException e) when (request.Kind == RequestKind.Restore)
                {
                    throw new ProtocolException(ProtocolError.MalformedFrame, $"Restore: {e.Message}");
                }
                if (role.Client != before)
                {
                    // a client of the scaled rows: the scratch follows its Hessian pattern
                    _scaled = true;
                    _scratch!.Dispose();
                    _scratch = new ClientScratch(spec, [role.Client]);
                }
                await connection.SendAsync(WireCodec.Reply(request, reply, spec, _scratch!.Packed, codes), token).ConfigureAwait(false);
            }
        }

        public void Dispose()
        {
            _scratch?.Dispose();
            _scratch = null;
        }
    }
}
