using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Kernels;
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
    private enum Exchange { Initialize, Restore, Round, Participate, Losses, LossesAndGradients, FeatureMax, Scale }

    private readonly ClientLink[] _links;
    private readonly CompressorSpec _spec;
    private readonly ulong _seed;
    private readonly TimeSpan _timeout;
    private readonly ClientLossPolicy _policy;
    private readonly Action<string> _log;
    private readonly CancellationToken _abort;
    private readonly bool[] _answered;
    private readonly ValueTask[] _pending;
    private readonly byte[] _request;
    private readonly ConcurrentQueue<ClientLink> _rejoins = new();
    private readonly List<string> _lostThisExchange = [];
    private CancellationTokenSource _deadline;

    // The exchange in flight; set before the clients' tasks start, read-only while they run.
    private Exchange _exchange;
    private int _round = -1;
    private double _alpha;
    private double[] _model;
    private ClientUpdate[]? _updates;
    private int[]? _selected;
    private readonly double[] _losses;
    private double[][]? _gradients;
    private double[][]? _initialGradients;
    private double[][]? _featureMaxima;
    private double[]? _scales;

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
        _model = new double[Dimension];
        _losses = new double[links.Length];
        _deadline = CancellationTokenSource.CreateLinkedTokenSource(abort);
        _request = new byte[Protocol.HeaderBytes + 13 + 8 * Dimension];
        if (spec.Kind is CompressorKind.RandK or CompressorKind.RandSeqK)
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

    /// <summary>A client that reconnected mid-run (already welcomed); it is restored and rejoins at the next round.</summary>
    public void OfferRejoin(ClientLink link) => _rejoins.Enqueue(link);

    // ---- IClientTransport -------------------------------------------------------------------------------------

    public void InitializeShifts(ReadOnlySpan<double> x0, Span<double> hessianMean) => Initialize(x0, hessianMean, default);

    public void InitializePartialParticipation(ReadOnlySpan<double> x0, Span<double> hessianMean, Span<double> gradientTermMean) =>
        Initialize(x0, hessianMean, gradientTermMean);

    private void Initialize(ReadOnlySpan<double> x0, Span<double> hessianMean, Span<double> gradientTermMean)
    {
        bool partial = !gradientTermMean.IsEmpty;
        _initialGradients = partial ? _links.Select(_ => new double[Dimension]).ToArray() : null;
        var w = Payload();
        w.Byte(partial ? (byte)1 : (byte)0);
        w.Doubles(x0);
        Run(Exchange.Initialize, FrameType.Initialize, w.Position, _links.Length);
        var missing = TrainingRun.Missing(_answered);
        if (missing.Length > 0)
            throw new ClientLostException($"initialisation needs every client; lost: {string.Join(", ", missing.Select(i => $"client {i}"))}");
        foreach (var link in _links)
        {
            if (partial) x0.CopyTo(link.LocalModel);
            link.LocalDifferenceNorm = 0;
        }
        // Means in client order, as the single-node simulation takes them.
        ClientOrder.Mean(_links.Length, i => _links[i].Shift, hessianMean);
        if (partial) ClientOrder.Mean(_links.Length, i => _initialGradients![i], gradientTermMean);
        _initialGradients = null;
    }

    /// <summary>
    /// --scale: every client reports max |a_jf| per feature, the master takes the maximum over clients and every client
    /// divides its features by it. Clients restored later (rejoin, resume) get the same divisors before their state.
    /// </summary>
    public double[] ScaleFeatures()
    {
        _featureMaxima = _links.Select(_ => new double[Dimension]).ToArray();
        Run(Exchange.FeatureMax, FrameType.FeatureMaxQuery, 0, _links.Length);
        var missing = TrainingRun.Missing(_answered);
        if (missing.Length > 0)
            throw new ClientLostException($"feature scaling needs every client; lost: {string.Join(", ", missing.Select(i => $"client {i}"))}");
        _scales = Data.FeatureScaling.Divisors(_featureMaxima);
        _featureMaxima = null;
        var w = Payload();
        w.Doubles(_scales);
        Run(Exchange.Scale, FrameType.Scale, w.Position, _links.Length);
        missing = TrainingRun.Missing(_answered);
        if (missing.Length > 0)
            throw new ClientLostException($"feature scaling needs every client; lost: {string.Join(", ", missing.Select(i => $"client {i}"))}");
        return _scales;
    }

    public void Round(ReadOnlySpan<double> x, int round, double alpha, ClientUpdate[] updates) =>
        Run(Exchange.Round, FrameType.Round, WriteModelRequest(x, round, alpha, updates), _links.Length);

    /// <summary>The Round/Participate request (round, α, x); remembers what the answers are checked and decoded against.</summary>
    private int WriteModelRequest(ReadOnlySpan<double> x, int round, double alpha, ClientUpdate[] updates)
    {
        RestoreRejoined(round);
        (_round, _alpha, _updates) = (round, alpha, updates);
        x.CopyTo(_model);
        var w = Payload();
        w.Int32(round);
        w.Double(alpha);
        w.Doubles(x);
        return w.Position;
    }

    public void Participate(ReadOnlySpan<double> x, int round, double alpha, ReadOnlySpan<int> selected, ClientUpdate[] updates)
    {
        int length = WriteModelRequest(x, round, alpha, updates);
        _selected ??= new int[_links.Length];
        selected.CopyTo(_selected);
        Array.Clear(_answered);
        Run(Exchange.Participate, FrameType.Participate, length, selected.Length);
    }

    public void MeanShift(ReadOnlySpan<bool> members, Span<double> mean) =>
        ClientOrder.Mean(_links.Length, i => _links[i].Shift, mean, members);

    public void Losses(ReadOnlySpan<double> x, Span<double> losses)
    {
        Evaluate(x, wantGradient: false);
        _losses.CopyTo(losses);
    }

    public void LossesAndGradients(ReadOnlySpan<double> x, Span<double> losses, double[][] gradients)
    {
        _gradients = gradients;
        Evaluate(x, wantGradient: true);
        _losses.CopyTo(losses);
    }

    private void Evaluate(ReadOnlySpan<double> x, bool wantGradient)
    {
        RestoreRejoined(_round);
        var w = Payload();
        w.Int32(_round);
        w.Byte(wantGradient ? (byte)1 : (byte)0);
        w.Doubles(x);
        Run(wantGradient ? Exchange.LossesAndGradients : Exchange.Losses, FrameType.Evaluate, w.Position, _links.Length);
    }

    /// <summary>Sends every connected client its state from the master's copy (resuming from a checkpoint).</summary>
    public void RestoreAll(int round)
    {
        _round = round;
        Run(Exchange.Restore, FrameType.Restore, 0, _links.Length);
        var missing = TrainingRun.Missing(_answered);
        if (missing.Length > 0 && _policy == ClientLossPolicy.Fail)
            throw new ClientLostException($"restoring state failed for {string.Join(", ", missing.Select(i => $"client {i}"))}");
    }

    // ---- exchanges ---------------------------------------------------------------------------------------------

    private WireWriter Payload() => new(_request.AsSpan(Protocol.HeaderBytes));

    private ClientLink LinkAt(int t) => _exchange == Exchange.Participate ? _links[_selected![t]] : _links[t];

    /// <summary>Runs one request/answer exchange with <paramref name="count"/> clients and applies the loss policy.</summary>
    private void Run(Exchange exchange, FrameType request, int payloadLength, int count)
    {
        _exchange = exchange;
        FrameConnection.WriteHeader(_request, request, payloadLength);
        var frame = _request.AsMemory(0, Protocol.HeaderBytes + payloadLength);
        _lostThisExchange.Clear();
        // One deadline source, reset for every exchange (a round allocates no new one unless the last one fired).
        if (!_deadline.TryReset())
        {
            _deadline.Dispose();
            _deadline = CancellationTokenSource.CreateLinkedTokenSource(_abort);
        }
        _deadline.CancelAfter(_timeout);
        var all = ExchangeAllAsync(frame, count, _deadline.Token);
        if (all.IsCompleted) all.GetAwaiter().GetResult();
        else all.AsTask().GetAwaiter().GetResult();
        _abort.ThrowIfCancellationRequested();
        if (_lostThisExchange.Count > 0 && _policy == ClientLossPolicy.Fail)
            throw new ClientLostException($"{string.Join("; ", _lostThisExchange)} (--on-client-loss fail: stopping)");
        if (exchange != Exchange.Participate && TrainingRun.Count(_answered.AsSpan(0, count)) == 0)
            throw new ClientLostException("no client is left: " + (_lostThisExchange.Count > 0 ? string.Join("; ", _lostThisExchange) : "all were lost earlier"));
    }

    /// <summary>Starts every client's exchange, then waits for all; the async machinery is pooled, so a round allocates ~nothing.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExchangeAllAsync(ReadOnlyMemory<byte> frame, int count, CancellationToken token)
    {
        for (int t = 0; t < count; t++)
        {
            _answered[t] = false;
            var link = LinkAt(t);
            _pending[t] = link.State == LinkState.Live ? ExchangeAsync(t, link, frame, token) : ValueTask.CompletedTask;
        }
        for (int t = 0; t < count; t++) await _pending[t].ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExchangeAsync(int t, ClientLink link, ReadOnlyMemory<byte> frame, CancellationToken token)
    {
        var connection = link.Connection!;
        try
        {
            if (_exchange == Exchange.Restore) await SendRestoreAsync(link, connection, token).ConfigureAwait(false);
            else await connection.SendPreparedAsync(frame, token).ConfigureAwait(false);
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

    private async ValueTask SendRestoreAsync(ClientLink link, FrameConnection connection, CancellationToken token)
    {
        if (_scales is not null)
        {
            var s = new WireWriter(connection.SendPayload);
            s.Doubles(_scales);
            await connection.SendAsync(FrameType.Scale, s.Position, token).ConfigureAwait(false);
            AcceptScaled(link, await connection.ReceiveAsync(token).ConfigureAwait(false));
        }
        bool partial = PartialParticipation;
        var w = new WireWriter(connection.SendPayload);
        w.Int32(_round);
        w.Byte(partial ? (byte)1 : (byte)0);
        w.Double(link.LocalDifferenceNorm);
        w.Doubles(link.Shift);
        if (partial) w.Doubles(link.LocalModel);
        await connection.SendAsync(FrameType.Restore, w.Position, token).ConfigureAwait(false);
    }

    /// <summary>FedNL-PP runs restore w_i and l_i too.</summary>
    public bool PartialParticipation { get; init; }

    private static void AcceptScaled(ClientLink link, Frame answer)
    {
        if (answer.Type != FrameType.Scaled)
            throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{answer.Type} frame where Scaled was expected");
        var r = new WireReader(answer.Payload.Span, "Scaled");
        double max = r.Double();
        r.End();
        if (!double.IsFinite(max) || max < 0) throw new ProtocolException(ProtocolError.MalformedFrame, $"Scaled reports max row norm² {max}");
        link.MaxRowNormSquared = max;
    }

    private void Accept(int t, ClientLink link, Frame answer)
    {
        if (_exchange == Exchange.Scale)
        {
            AcceptScaled(link, answer);
            return;
        }
        var expected = _exchange switch
        {
            Exchange.FeatureMax => FrameType.FeatureMax,
            Exchange.Initialize => FrameType.InitialState,
            Exchange.Restore => FrameType.Ready,
            Exchange.Round or Exchange.Participate => FrameType.Update,
            _ => FrameType.Evaluation,
        };
        if (answer.Type != expected)
            throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{answer.Type} frame where {expected} was expected");
        var payload = answer.Payload.Span;
        switch (_exchange)
        {
            case Exchange.Initialize:
            {
                var r = new WireReader(payload, "InitialState");
                r.Doubles(link.Shift);
                if (_initialGradients is not null) r.Doubles(_initialGradients[t]);
                r.End();
                foreach (double v in link.Shift)
                    if (!double.IsFinite(v)) throw new ProtocolException(ProtocolError.MalformedFrame, "InitialState has a non-finite Hessian entry");
                break;
            }
            case Exchange.FeatureMax:
            {
                var r = new WireReader(payload, "FeatureMax");
                r.Doubles(_featureMaxima![t]);
                r.End();
                foreach (double v in _featureMaxima[t])
                    if (!double.IsFinite(v) || v < 0) throw new ProtocolException(ProtocolError.MalformedFrame, $"FeatureMax has {v}");
                break;
            }
            case Exchange.Restore:
                if (payload.Length != 0) throw new ProtocolException(ProtocolError.MalformedFrame, $"Ready frame must be empty, has {payload.Length} bytes");
                break;
            case Exchange.Round:
            case Exchange.Participate:
            {
                var update = _updates![t];
                UpdateCodec.Read(payload, _round, _spec, update, link.Regenerator, SeedSequence.Compressor(_seed, link.Id, _round));
                // The client moved H_i by α S_i; the master's copy follows with the same arithmetic.
                HessianCompressor.AddScaled(Dimension, link.Shift, _alpha, update.Difference);
                if (_exchange == Exchange.Participate)
                {
                    _model.CopyTo(link.LocalModel);
                    link.LocalDifferenceNorm = update.DifferenceNorm;
                }
                break;
            }
            default:
            {
                var r = new WireReader(payload, "Evaluation");
                int round = r.Int32();
                if (round != _round) throw new ProtocolException(ProtocolError.WrongRound, $"Evaluation for round {round}, expected round {_round}");
                double loss = r.Double();
                if (!double.IsFinite(loss)) throw new ProtocolException(ProtocolError.MalformedFrame, $"Evaluation has a non-finite f_i ({loss})");
                _losses[t] = loss;
                if (_exchange == Exchange.LossesAndGradients)
                {
                    r.Doubles(_gradients![t]);
                    foreach (double g in _gradients[t])
                        if (!double.IsFinite(g)) throw new ProtocolException(ProtocolError.MalformedFrame, "Evaluation has a non-finite gradient entry");
                }
                r.End();
                break;
            }
        }
    }

    private void Lose(ClientLink link, string why)
    {
        string where = _exchange switch
        {
            Exchange.Initialize or Exchange.FeatureMax or Exchange.Scale => "during initialisation",
            Exchange.Restore => $"while restoring its state (round {_round})",
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

    /// <summary>Clients that reconnected since the last round get their state back and take part again.</summary>
    private void RestoreRejoined(int round)
    {
        if (_rejoins.IsEmpty) return;
        var previous = _exchange;
        try
        {
            while (_rejoins.TryDequeue(out var link))
            {
                (_exchange, _round) = (Exchange.Restore, round);
                _answered[0] = false;
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_abort);
                deadline.CancelAfter(_timeout);
                lock (link) link.State = LinkState.Live;
                ExchangeAsync(0, link, default, deadline.Token).AsTask().GetAwaiter().GetResult();
                _abort.ThrowIfCancellationRequested();
                if (_answered[0]) _log($"{link.Describe()} rejoined at round {round}");
            }
        }
        finally
        {
            _exchange = previous;
        }
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
