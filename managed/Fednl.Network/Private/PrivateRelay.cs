using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Authentication;
using Fednl.Compression;
using Fednl.Messages;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Network.Private;

/// <summary>What a relay saw of a private run: only sizes, timings and who took part.</summary>
public sealed record RelayOutcome(Guid RunId, int Dimension, int Rounds, long Exchanges, long BytesReceived, long BytesSent, double Seconds,
    string? Failure, IReadOnlyList<int> Lost);

/// <summary>
/// The master of a private run (`fednl master --private`): admits the clients as a normal master does (TLS, Hello,
/// the lobby), sends them the settings and the roster, and then only relays. Each exchange it takes one sealed
/// message from every live client, checks what it can without the key (the exchange number, the sender, the sizes),
/// and sends every client the bundle of all of them, byte for byte. It never has the key, the data, the model or
/// any client's message in the clear; its log and checkpoint hold rounds, sizes and timings only.
/// </summary>
public static class PrivateRelay
{
    private enum Answer { Sealed, Finished, Failed, Lost }

    public static RelayOutcome Run(MasterSettings settings, Action<System.Net.IPEndPoint>? listening, CancellationToken stop, CancellationToken abort)
    {
        var options = settings.Options;
        options.Validate();
        if (settings.Engine is not null) throw new ArgumentException("private mode runs over the framed engine only (drop --engine grpc)");
        if (settings.Resume && settings.CheckpointPath is null) throw new ArgumentException("--resume needs --checkpoint FILE");
        var resumed = settings.Resume ? RelayCheckpoint.Read(settings.CheckpointPath!) : null;
        if (resumed is not null && resumed.Clients != options.Clients)
            throw new ArgumentException($"the checkpoint has {resumed.Clients} clients, --clients is {options.Clients}");
        var runId = resumed?.RunId ?? Guid.NewGuid();
        var listener = new MasterListener(settings, runId, resumed?.Dimension ?? settings.Dimension, resumed: resumed is not null);
        try
        {
            listener.Start(() => Enumerable.Range(0, options.Clients).Select(i => new ClientLink(i)).ToArray());
            listening?.Invoke(listener.Endpoint);
            var links = listener.WaitForAllAsync(settings.JoinTimeout, abort).GetAwaiter().GetResult();
            listener.StartRelaying();
            var spec = new CompressorSpec(options.Compressor, listener.Dimension, options.KMultiplier, options.Clients);
            return new Relay(settings, links, spec, runId, resumed?.Round ?? 0).Run(stop, abort);
        }
        finally
        {
            listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>One run's relaying state.</summary>
    private sealed class Relay
    {
        private readonly MasterSettings _settings;
        private readonly ClientLink[] _links;
        private readonly CompressorSpec _spec;
        private readonly Guid _runId;
        private readonly int _ciphertextLimit;
        private readonly byte[] _frame;
        private readonly Answer[] _answers;
        private readonly ReadOnlyMemory<byte>[] _sealed;
        private readonly string[] _reasons;
        private readonly List<int> _lost = [];
        private readonly Stopwatch _clock = new();
        private long _exchange, _bytesIn, _bytesOut;
        private int _round;
        private int _roundExchanges;
        private long _roundBytes;
        private TimeSpan _roundStart;

        public Relay(MasterSettings settings, ClientLink[] links, CompressorSpec spec, Guid runId, int round)
        {
            (_settings, _links, _spec, _runId, _round) = (settings, links, spec, runId, round);
            _ciphertextLimit = Protocol.PrivateCiphertextLimit(spec);
            foreach (var link in links) Framed(link).UseLimits(Protocol.PrivateSealedLimit(spec), Protocol.HandshakeLimit);
            _frame = new byte[Protocol.HeaderBytes + Protocol.PrivateBundleLimit(spec, links.Length)];
            _answers = new Answer[links.Length];
            _sealed = new ReadOnlyMemory<byte>[links.Length];
            _reasons = new string[links.Length];
        }

        private static ClientConnection Framed(ClientLink link) => (ClientConnection)link.Connection!;

        public RelayOutcome Run(CancellationToken stop, CancellationToken abort)
        {
            _clock.Start();
            string? failure = null;
            try
            {
                Broadcast(new MasterMessage { Roster = PrivateSession.RosterOf(_links) }, abort);
                _settings.Log($"private run {_runId}: relaying for {_links.Length} clients, d = {_spec.Dimension}, {_spec}");
                while (true)
                {
                    Collect(abort);
                    if (Live().All(i => _answers[i] == Answer.Finished))
                    {
                        Checkpoint(final: true);
                        ShutdownAll(failed: false, "run finished");
                        break;
                    }
                    if (FailureOfThisExchange() is { } why)
                    {
                        failure = why;
                        ShutdownAll(failed: true, why);
                        break;
                    }
                    if (stop.IsCancellationRequested)
                    {
                        failure = $"the master's operator stopped the run in round {_round}";
                        ShutdownAll(failed: true, failure);
                        break;
                    }
                    SendBundle(abort);
                }
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                failure = "aborted";
                ShutdownAll(failed: true, "run aborted by the master's operator");
            }
            LogRound();
            return new RelayOutcome(_runId, _spec.Dimension, _round, _exchange, _bytesIn, _bytesOut, _clock.Elapsed.TotalSeconds, failure, _lost.ToArray());
        }

        private IEnumerable<int> Live() => Enumerable.Range(0, _links.Length).Where(i => _links[i].State == LinkState.Live);

        /// <summary>Takes one message from every live client (each with the round timeout), in parallel.</summary>
        private void Collect(CancellationToken abort)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(abort);
            deadline.CancelAfter(_settings.RoundTimeout);
            var live = Live().ToArray();
            var pending = live.Select(i => ReceiveAsync(i, deadline.Token)).ToArray();
            Task.WaitAll(pending);
            abort.ThrowIfCancellationRequested();
        }

        private async Task ReceiveAsync(int i, CancellationToken token)
        {
            var link = _links[i];
            var connection = Framed(link);
            try
            {
                long before = connection.BytesReceived;
                var raw = await connection.ReceiveRawAsync(token).ConfigureAwait(false);
                Interlocked.Add(ref _bytesIn, connection.BytesReceived - before);
                switch ((ClientMessage.BodyOneofCase)raw.Kind)
                {
                    case ClientMessage.BodyOneofCase.Sealed:
                    {
                        var (start, length) = raw.BodyRange();
                        var bytes = raw.Bytes.Slice(start, length);
                        var view = SealedView.Parse(bytes.Span);
                        view.CheckFraming(_exchange, link.Id, _ciphertextLimit, link.Describe());
                        if (i == FirstLive()) _round = view.Round;
                        (_answers[i], _sealed[i]) = (Answer.Sealed, bytes);
                        break;
                    }
                    case ClientMessage.BodyOneofCase.Shutdown:
                        var shutdown = raw.Parse(ClientMessage.Parser, "Shutdown").Shutdown;
                        (_answers[i], _reasons[i]) = (shutdown.Failed ? Answer.Failed : Answer.Finished, shutdown.Reason);
                        break;
                    default:
                        throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{(ClientMessage.BodyOneofCase)raw.Kind} where a sealed message was expected");
                }
            }
            catch (ProtocolException e)
            {
                await connection.TrySendErrorAsync(e.Code, e.Message, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                Lose(i, $"broke the protocol ({e.Message})");
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                Lose(i, $"no message within {_settings.RoundTimeout.TotalSeconds:0.###} s");
            }
            catch (PeerRefusedException e)
            {
                Lose(i, $"sent an error ({e.Code}: {e.Message})");
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException)
            {
                Lose(i, e.Message.Length > 0 ? $"disconnected ({e.Message})" : "disconnected");
            }
        }

        private int FirstLive()
        {
            for (int i = 0; i < _links.Length; i++)
                if (_links[i].State == LinkState.Live) return i;
            return -1;
        }

        private void Lose(int i, string why)
        {
            var link = _links[i];
            _reasons[i] = $"{link.Describe()} lost in round {_round}: {why}";
            _answers[i] = Answer.Lost;
            _settings.Log(_reasons[i]);
        }

        /// <summary>Why this exchange ends the run (a client failed or finished out of step, a loss under the fail policy), or null.</summary>
        private string? FailureOfThisExchange()
        {
            var live = Live().ToArray();
            foreach (int i in live)
                if (_answers[i] == Answer.Failed) return $"client {i} stopped the run: {_reasons[i]}";
            var lostNow = live.Where(i => _answers[i] == Answer.Lost).ToArray();
            foreach (int i in lostNow)
            {
                lock (_links[i])
                {
                    _links[i].State = LinkState.Lost;
                    _links[i].Connection?.Dispose();
                    _links[i].Connection = null;
                }
                _lost.Add(i);
            }
            if (lostNow.Length > 0 && _settings.LossPolicy == ClientLossPolicy.Fail)
                return $"{string.Join("; ", lostNow.Select(i => _reasons[i]))} (--on-client-loss fail: stopping)";
            var remaining = Live().ToArray();
            if (remaining.Length == 0) return "no client is left";
            if (remaining.Any(i => _answers[i] == Answer.Finished))
                return $"clients {string.Join(", ", remaining.Where(i => _answers[i] == Answer.Finished))} finished while the others sent round {_round}: the clients are out of step";
            return null;
        }

        /// <summary>Every live client's sealed message (and the lost clients), byte for byte, to every live client.</summary>
        private void SendBundle(CancellationToken abort)
        {
            var bundle = new Bundle { Exchange = _exchange };
            for (int i = 0; i < _links.Length; i++)
                if (_links[i].State == LinkState.Live) bundle.Sealed.Add(UnsafeByteOperations.UnsafeWrap(_sealed[i]));
            bundle.Lost.Add(_lost);
            int length = Broadcast(new MasterMessage { Bundle = bundle }, abort);
            if (_round != _lastLoggedRound)
            {
                LogRound();
                (_lastLoggedRound, _roundExchanges, _roundBytes, _roundStart) = (_round, 0, 0, _clock.Elapsed);
                if (_settings.CheckpointEvery > 0 && _round % _settings.CheckpointEvery == 0) Checkpoint(final: false);
            }
            _roundExchanges++;
            _roundBytes += (long)length * Live().Count();
            _exchange++;
        }

        private int _lastLoggedRound = int.MinValue;

        private void LogRound()
        {
            if (_roundExchanges == 0) return;
            _settings.Log(FormattableString.Invariant(
                $"{(_lastLoggedRound < 0 ? "setup" : $"round {_lastLoggedRound}")}: {_roundExchanges} exchange{(_roundExchanges > 1 ? "s" : "")}, {Live().Count()} clients, {_roundBytes:N0} bytes relayed, {(_clock.Elapsed - _roundStart).TotalMilliseconds:F1} ms"));
        }

        /// <summary>Serialises <paramref name="message"/> once and writes the frame to every live client; returns its length.</summary>
        private int Broadcast(MasterMessage message, CancellationToken abort)
        {
            int length = ClientConnection.Prepare(message, _frame);
            var frame = _frame.AsMemory(0, length);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(abort);
            deadline.CancelAfter(_settings.RoundTimeout);
            var live = Live().ToArray();
            var sends = live.Select(i => SendAsync(i, frame, deadline.Token)).ToArray();
            Task.WaitAll(sends);
            abort.ThrowIfCancellationRequested();
            foreach (int i in live)
                if (_links[i].State == LinkState.Lost) _lost.Add(i); // it missed this message; the next bundle says so
            _bytesOut += (long)length * live.Length;
            return length;
        }

        private async Task SendAsync(int i, ReadOnlyMemory<byte> frame, CancellationToken token)
        {
            var link = _links[i];
            try
            {
                await Framed(link).SendPreparedAsync(frame, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or AuthenticationException)
            {
                // the others got this bundle; the one that missed it is lost, and the next exchange says so
                lock (link)
                {
                    link.State = LinkState.Lost;
                    link.Connection?.Dispose();
                    link.Connection = null;
                }
                _settings.Log($"client {link.Id} lost in round {_round}: {(e is OperationCanceledException ? "it did not take the bundle in time" : e.Message)}");
            }
        }

        private void ShutdownAll(bool failed, string reason)
        {
            var tasks = _links.Where(l => l.Connection is not null).Select(l => l.Connection!.TrySendShutdownAsync(failed, reason, TimeSpan.FromSeconds(2))).ToArray();
            Task.WaitAll(tasks);
            foreach (var link in _links)
                lock (link)
                {
                    link.Connection?.Dispose();
                    link.Connection = null;
                }
        }

        private void Checkpoint(bool final)
        {
            if (_settings.CheckpointPath is not { } path) return;
            RelayCheckpoint.Write(path, new RelayCheckpoint(_runId, _spec.Dimension, _links.Length, _round));
            if (!final) _settings.Log($"checkpoint: round {_round} written to {path} (run id, d, n and the round: a private relay holds nothing else)");
        }
    }
}
