using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using Fednl.Clients;
using Fednl.Compression;
using Fednl.Kernels;
using Fednl.Messages;
using Fednl.Network.Wire;
using Fednl.Transport;

namespace Fednl.Network;

/// <summary>
/// The master's side of a networked run: the algorithms' <see cref="IClientTransport"/> over one connection per
/// client. A request is encoded once and written to every client; answers are decoded as they arrive, each into
/// its client's preallocated buffers (randk/randseqk indices regenerated from the seed, the master's copy of H_i
/// moved); the algorithm then sums them in client order, so the result is bit-identical to the single-node
/// simulation. Every exchange has a timeout; a client that disconnects, stalls or breaks the protocol is named in
/// the log, dropped, and either stops the run or is left out (<see cref="ClientLossPolicy"/>).
/// </summary>
public sealed class NetworkTransport : IClientTransport
{
    private enum ExchangeKind { Initialize, Restore, Round, Participate, Losses, LossesAndGradients, FeatureMax, Scale }

    private readonly ClientLink[] _links;
    private readonly CompressorSpec _spec;
    private readonly ulong _seed;
    private readonly TimeSpan _timeout;
    private readonly ClientLossPolicy _policy;
    private readonly Action<string> _log;
    private readonly CancellationToken _abort;
    private readonly bool[] _answered;
    private readonly ValueTask[] _pending;
    private readonly PreparedRequest _request;
    private readonly int[] _recipients;
    private readonly ConcurrentQueue<ClientLink> _rejoins = new();
    private readonly List<string> _lostThisExchange = [];
    private CancellationTokenSource _deadline;

    // The exchange in flight; set before the clients' tasks start, read-only while they run.
    private ExchangeKind _exchange;
    private ClientRequest? _current;
    private ClientReply[]? _replies;
    private int _round = -1;

    public NetworkTransport(ClientLink[] links, CompressorSpec spec, ulong seed, TimeSpan exchangeTimeout,
        ClientLossPolicy policy, Action<string> log, CancellationToken abort)
    {
        _links = links;
        _spec = spec;
        _seed = seed;
        _timeout = exchangeTimeout;
        _policy = policy;
        _log = log;
        _abort = abort;
        Dimension = spec.Dimension;
        _answered = new bool[links.Length];
        _pending = new ValueTask[links.Length];
        _recipients = new int[links.Length];
        _deadline = CancellationTokenSource.CreateLinkedTokenSource(abort);
        _request = new PreparedRequest(Dimension);
        if (spec.Kind is CompressorKind.RandK or CompressorKind.RandSeqK or CompressorKind.PermK)
            foreach (var link in links) link.Regenerator ??= new HessianCompressor(spec);
    }

    public int ClientCount => _links.Length;
    public int Dimension { get; }
    public ReadOnlySpan<bool> Answered => _answered;
    public IReadOnlyList<ClientLink> Links => _links;

    /// <summary>Bytes written to and read from all client connections so far (frames, headers included; TLS records not).</summary>
    public long BytesSent => _links.Sum(l => l.Connection?.BytesSent ?? 0) + _closedSent;
    public long BytesReceived => _links.Sum(l => l.Connection?.BytesReceived ?? 0) + _closedReceived;
    private long _closedSent, _closedReceived;

    /// <summary>A client that reconnected mid-run (already welcomed); the server restores it before its next exchange.</summary>
    public void OfferRejoin(ClientLink link) => _rejoins.Enqueue(link);

    public bool TryTakeReturning(out int client)
    {
        if (_rejoins.TryDequeue(out var link))
        {
            lock (link) link.State = LinkState.Returning;
            client = link.Id;
            return true;
        }
        client = -1;
        return false;
    }

    // ---- IClientTransport -------------------------------------------------------------------------------------

    public void Exchange(ClientRequest request, ReadOnlySpan<int> recipients, ClientReply[] replies)
    {
        int count = recipients.IsEmpty ? _links.Length : recipients.Length;
        for (int t = 0; t < count; t++) _recipients[t] = recipients.IsEmpty ? t : recipients[t];
        (_current, _replies) = (request, replies);
        if (request.Kind is RequestKind.Round or RequestKind.Evaluate or RequestKind.Restore) _round = request.Round;
        var exchange = request.Kind switch
        {
            RequestKind.Initialize => ExchangeKind.Initialize,
            RequestKind.Round => request.Participate ? ExchangeKind.Participate : ExchangeKind.Round,
            RequestKind.Evaluate => request.WantGradient ? ExchangeKind.LossesAndGradients : ExchangeKind.Losses,
            RequestKind.Restore => ExchangeKind.Restore,
            RequestKind.FeatureMax => ExchangeKind.FeatureMax,
            _ => ExchangeKind.Scale,
        };
        // Every request but Restore is the same for all clients: serialised once, written to each.
        if (exchange != ExchangeKind.Restore) _request.Prepare(WireCodec.Request(request, 0));
        Run(exchange, count);
    }

    private ClientLink LinkAt(int t) => _links[_recipients[t]];

    /// <summary>Live clients take every request; a returning one only the requests that restore it.</summary>
    private bool Takes(ClientLink link) =>
        link.State == LinkState.Live || (link.State == LinkState.Returning && _exchange is ExchangeKind.Scale or ExchangeKind.Restore);


    /// <summary>Runs one request/answer exchange with <paramref name="count"/> clients and applies the loss policy.</summary>
    private void Run(ExchangeKind exchange, int count)
    {
        _exchange = exchange;
        _lostThisExchange.Clear();
        // One deadline source, reset for every exchange (a round allocates no new one unless the last one fired).
        if (!_deadline.TryReset())
        {
            _deadline.Dispose();
            _deadline = CancellationTokenSource.CreateLinkedTokenSource(_abort);
        }
        _deadline.CancelAfter(_timeout);
        var all = ExchangeAllAsync(count, _deadline.Token);
        if (all.IsCompleted) all.GetAwaiter().GetResult();
        else all.AsTask().GetAwaiter().GetResult();
        _abort.ThrowIfCancellationRequested();
        if (_lostThisExchange.Count > 0 && _policy == ClientLossPolicy.Fail)
            throw new ClientLostException($"{string.Join("; ", _lostThisExchange)} (--on-client-loss fail: stopping)");
        if (exchange is not (ExchangeKind.Participate or ExchangeKind.Restore or ExchangeKind.Scale) && !_answered.AsSpan(0, count).Contains(true))
            throw new ClientLostException("no client is left: " + (_lostThisExchange.Count > 0 ? string.Join("; ", _lostThisExchange) : "all were lost earlier"));
    }

    /// <summary>Starts every client's exchange, then waits for all; the async machinery is pooled, so a round allocates ~nothing.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExchangeAllAsync(int count, CancellationToken token)
    {
        for (int t = 0; t < count; t++)
        {
            _answered[t] = false;
            var link = LinkAt(t);
            _pending[t] = Takes(link) ? ExchangeAsync(t, link, token) : ValueTask.CompletedTask;
        }
        for (int t = 0; t < count; t++) await _pending[t].ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExchangeAsync(int t, ClientLink link, CancellationToken token)
    {
        var connection = link.Connection!;
        try
        {
            if (_exchange == ExchangeKind.Restore) await connection.SendAsync(WireCodec.Request(_current!, link.Id), token).ConfigureAwait(false);
            else await connection.SendAsync(_request, token).ConfigureAwait(false);
            var answer = await connection.ReceiveAsync(token).ConfigureAwait(false);
            Accept(t, link, answer);
            _answered[t] = true;
        }
        catch (ProtocolException e)
        {
            await connection.TrySendErrorAsync(e.Code, e.Message, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            Lose(link, $"broke the protocol ({e.Message})");
        }
        catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
        {
            Lose(link, $"no answer within {_timeout.TotalSeconds:0.###} s");
        }
        catch (OperationCanceledException)
        {
        }
        catch (PeerRefusedException e)
        {
            Lose(link, $"sent an error ({e.Code}: {e.Message})");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException)
        {
            Lose(link, e.Message.Length > 0 ? $"disconnected ({e.Message})" : "disconnected");
        }
    }

    private void Accept(int t, ClientLink link, RawEnvelope answer)
    {
        var reply = _replies![t];
        var request = _current!;
        ulong seed = request.Kind == RequestKind.Round ? SeedSequence.CompressorFor(_spec.Kind, _seed, link.Id, request.Round) : 0;
        WireCodec.ReadReply(answer, request, reply, _spec, link.Regenerator, seed, link.Id);
        switch (request.Kind)
        {
            case RequestKind.Scale:
                link.MaxRowNormSquared = reply.MaxRowNormSquared;
                break;
            case RequestKind.Restore:
                lock (link)
                {
                    if (link.State != LinkState.Returning) break;
                    link.State = LinkState.Live;
                }
                _log($"{link.Describe()} rejoined at round {_round}");
                break;
        }
    }

    private void Lose(ClientLink link, string why)
    {
        string where = _exchange switch
        {
            ExchangeKind.Initialize or ExchangeKind.FeatureMax or ExchangeKind.Scale => "during initialisation",
            ExchangeKind.Restore => $"while restoring its state (round {_round})",
            _ => $"in round {_round}",
        };
        string message = $"{link.Describe()} lost {where}: {why}";
        lock (_lostThisExchange) _lostThisExchange.Add(message);
        lock (link)
        {
            link.State = LinkState.Lost;
            Close(link);
        }
        _log(message);
    }

    /// <summary>Tells every connected client the run is over (<paramref name="failed"/>: stopped on a failure) and closes the connections.</summary>
    public void Shutdown(bool failed, string reason)
    {
        var tasks = _links.Where(l => l.Connection is not null).Select(l => l.Connection!.TrySendShutdownAsync(failed, reason, TimeSpan.FromSeconds(2))).ToArray();
        Task.WaitAll(tasks);
        foreach (var link in _links)
            lock (link) Close(link);
    }

    /// <summary>Closes a link's connection, keeping its byte counts in the totals.</summary>
    private void Close(ClientLink link)
    {
        if (link.Connection is not { } c) return;
        Interlocked.Add(ref _closedSent, c.BytesSent);
        Interlocked.Add(ref _closedReceived, c.BytesReceived);
        c.Dispose();
        link.Connection = null;
    }

    public void Dispose()
    {
        _deadline.Dispose();
        foreach (var link in _links)
        {
            link.Connection?.Dispose();
            link.Regenerator?.Dispose();
        }
    }
}
