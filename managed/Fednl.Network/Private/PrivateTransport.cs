using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Fednl.Clients;
using Fednl.Compression;
using Fednl.Kernels;
using Fednl.Messages;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Network.Private;

/// <summary>A sealed message did not open, or the relay broke the exchange: the run cannot go on.</summary>
public sealed class SealedMessageException(string message) : Exception(message);

/// <summary>The relay stopped the run (a client failed, the master's operator aborted, a client was lost under --on-client-loss fail).</summary>
public sealed class RelayStoppedException(bool failed, string reason) : Exception(reason)
{
    public bool Failed { get; } = failed;
}

/// <summary>
/// A private client's <see cref="IClientTransport"/>: every client runs the same server code, so every client makes
/// the same requests in the same order and nothing needs to be sent to it. An exchange is: answer the request with
/// this client's own role (when it is a recipient), seal the reply under the run key, send it to the relay, take
/// the relay's bundle of every client's sealed message, open each (a failed tag names the sender and the round and
/// stops the run) and decode the recipients' replies in client order, this client's own included, so every client
/// holds the same bits. Clients that are not asked send an empty sealed message, so the relay sees one message
/// per client per exchange.
/// </summary>
internal sealed class PrivateTransport : IClientTransport
{
    private readonly MasterConnection _connection;
    private readonly RunKey _key;
    private readonly Guid _runId;
    private readonly int _self;
    private readonly CompressorSpec _spec;
    private readonly ClientRole _role;
    private readonly ulong _seed;
    private readonly bool _continueOnLoss;
    private readonly TimeSpan _idleTimeout;
    private readonly CancellationToken _token;
    private ClientScratch _scratch;
    private readonly ClientReply _own;
    private readonly HessianCompressor? _regenerator;
    private readonly byte[] _plaintext;
    private readonly byte[] _opened;
    private readonly byte[] _sealedText;
    private readonly byte[] _nonce = new byte[RunKey.NonceBytes];
    private readonly byte[] _codes;
    private readonly byte[] _associated = new byte[SealContext.Bytes];
    private readonly byte[] _digest = new byte[32];
    private readonly bool[] _answered;
    private readonly bool[] _lost;
    private readonly bool[] _seen;
    private readonly List<int> _lostNow = [];
    private readonly int[] _position;
    private readonly RawEnvelope _raw = new();
    private long _exchange;
    private int _round = -1, _step;

    public PrivateTransport(MasterConnection connection, RunKey key, Guid runId, int self, int clients, CompressorSpec spec, ClientRole role,
        ulong seed, bool continueOnLoss, TimeSpan idleTimeout, CancellationToken token)
    {
        _connection = connection;
        _key = key;
        _runId = runId;
        _self = self;
        ClientCount = clients;
        Dimension = spec.Dimension;
        _spec = spec;
        _role = role;
        _seed = seed;
        _continueOnLoss = continueOnLoss;
        _idleTimeout = idleTimeout;
        _token = token;
        _scratch = new ClientScratch(spec, [role.Client]);
        _own = new ClientReply(self, spec);
        if (!spec.IsDense && !WireCodec.SendsIndices(spec.Kind)) _regenerator = new HessianCompressor(spec);
        int plaintextLimit = Protocol.ClientFrameLimit(spec);
        _plaintext = new byte[plaintextLimit];
        _opened = new byte[plaintextLimit];
        _sealedText = new byte[Protocol.PrivateCiphertextLimit(spec)];
        _codes = new byte[WireCodec.NaturalBytes(spec.PackedLength)];
        _answered = new bool[clients];
        _lost = new bool[clients];
        _seen = new bool[clients];
        _position = new int[clients];
    }

    public int ClientCount { get; }
    public int Dimension { get; }
    public ReadOnlySpan<bool> Answered => _answered;

    /// <summary>Sealed bytes this client sent and received.</summary>
    public long BytesSent => _connection.BytesSent;
    public long BytesReceived => _connection.BytesReceived;

    public bool TryTakeReturning(out int client)
    {
        client = -1;
        return false;
    }

    public void Exchange(ClientRequest request, ReadOnlySpan<int> recipients, ClientReply[] replies)
    {
        int count = recipients.IsEmpty ? ClientCount : recipients.Length;
        Array.Fill(_position, -1);
        for (int t = 0; t < count; t++) _position[recipients.IsEmpty ? t : recipients[t]] = t;
        if (request.Round != _round) (_round, _step) = (request.Round, 0);
        else _step++;
        SHA256.HashData(MemoryMarshal.AsBytes(request.Vector.AsSpan()), _digest);
        byte kind = (byte)request.Kind;
        byte flags = (byte)((request.Participate ? 1 : 0) | (request.WantGradient ? 2 : 0) | (request.PartialParticipation ? 4 : 0));

        int length = _position[_self] >= 0 && !_lost[_self] ? Answer(request) : 0;
        var bundle = Relay(length, kind, flags);
        Array.Clear(_answered, 0, count);
        Open(bundle, kind, flags, (sender, length) =>
        {
            int t = _position[sender];
            if (t < 0)
            {
                if (length != 0)
                    throw new SealedMessageException($"client {sender} sent a reply in round {_round} to a request it was not asked (exchange {_exchange})");
                return;
            }
            _raw.Reset<ClientMessage>(_opened.AsMemory(0, length), $"client {sender}'s reply");
            ulong seed = request.Kind == RequestKind.Round ? SeedSequence.CompressorFor(_spec.Kind, _seed, sender, request.Round) : 0;
            try
            {
                WireCodec.ReadReply(_raw, request, replies[t], _spec, _regenerator, seed, sender);
            }
            catch (ProtocolException e)
            {
                throw new SealedMessageException($"client {sender}'s reply in round {_round} opened but is malformed: {e.Message}");
            }
            _answered[t] = true;
        });
        _exchange++;
    }

    /// <summary>
    /// Seals <paramref name="facts"/> (this client's Hello fields that the others need, e.g. its sample count) and
    /// returns every client's, in client order: an exchange of its own before the algorithm's first.
    /// </summary>
    public Hello[] ExchangeFacts(Hello facts)
    {
        var message = new ClientMessage { Hello = facts.ToWire() };
        int length = message.CalculateSize();
        message.WriteTo(_plaintext.AsSpan(0, length));
        (_round, _step) = (-1, 0);
        Array.Clear(_digest);
        const byte kind = FactsKind;
        var bundle = Relay(length, kind, 0);
        var all = new Hello[ClientCount];
        Open(bundle, kind, 0, (sender, length) =>
        {
            try
            {
                var m = ClientMessage.Parser.ParseFrom(_opened.AsSpan(0, length));
                if (m.BodyCase != ClientMessage.BodyOneofCase.Hello) throw WireCodec.Malformed($"{m.BodyCase} where its facts were expected");
                all[sender] = Hello.FromWire(m.Hello);
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or ProtocolException)
            {
                throw new SealedMessageException($"client {sender}'s facts opened but are malformed: {e.Message}");
            }
        });
        _exchange++;
        var missing = Enumerable.Range(0, ClientCount).Where(i => all[i] is null).ToArray();
        if (missing.Length > 0) throw new ClientLostException($"clients {string.Join(", ", missing)} were lost before training started");
        return all;
    }

    /// <summary>The kind bound into the facts exchange's associated data (not a request kind).</summary>
    private const byte FactsKind = 0xFF;

    /// <summary>This client's reply to <paramref name="request"/>, serialised into the plaintext buffer; returns its length.</summary>
    private int Answer(ClientRequest request)
    {
        var before = _role.Client;
        try
        {
            _role.Handle(request, _scratch, _own);
        }
        catch (ArgumentException e) when (request.Kind == RequestKind.Restore)
        {
            throw new SealedMessageException($"restoring this client's state failed: {e.Message}");
        }
        if (_role.Client != before)
        {
            // a client of the scaled rows: the scratch follows its Hessian pattern
            _scratch.Dispose();
            _scratch = new ClientScratch(_spec, [_role.Client]);
        }
        var message = WireCodec.Reply(request, _own, _spec, _scratch.Packed, _codes);
        int length = message.CalculateSize();
        message.WriteTo(_plaintext.AsSpan(0, length));
        return length;
    }

    /// <summary>Seals the plaintext's first <paramref name="length"/> bytes, sends it, and returns the relay's bundle (valid until the next receive).</summary>
    private ReadOnlyMemory<byte> Relay(int length, byte kind, byte flags)
    {
        new SealContext(_runId, _exchange, _round, _step, _self, kind, flags).Write(_associated, _digest);
        var sealedText = _sealedText.AsSpan(0, length + RunKey.TagBytes);
        _key.Seal(_plaintext.AsSpan(0, length), _associated, _nonce, sealedText);
        var message = new ClientMessage
        {
            Sealed = new Sealed
            {
                Exchange = _exchange,
                Sender = _self,
                Round = _round,
                Nonce = UnsafeByteOperations.UnsafeWrap(_nonce),
                Ciphertext = UnsafeByteOperations.UnsafeWrap(_sealedText.AsMemory(0, sealedText.Length)),
            },
        };
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_token);
        idle.CancelAfter(_idleTimeout);
        try
        {
            _connection.SendAsync(message, idle.Token).AsTask().GetAwaiter().GetResult();
            var answer = _connection.ReceiveRawAsync(idle.Token).AsTask().GetAwaiter().GetResult();
            switch ((MasterMessage.BodyOneofCase)answer.Kind)
            {
                case MasterMessage.BodyOneofCase.Bundle:
                    return BodyOf(answer);
                case MasterMessage.BodyOneofCase.Shutdown:
                    var shutdown = answer.Parse(MasterMessage.Parser, "Shutdown").Shutdown;
                    throw new RelayStoppedException(shutdown.Failed, shutdown.Reason);
                default:
                    throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{(MasterMessage.BodyOneofCase)answer.Kind} where a Bundle was expected");
            }
        }
        catch (OperationCanceledException) when (!_token.IsCancellationRequested)
        {
            throw new IOException($"the relay sent no bundle for round {_round} within {_idleTimeout.TotalSeconds:0.#} s (exchange {_exchange})");
        }
    }

    /// <summary>The Bundle's bytes inside a received envelope.</summary>
    private static ReadOnlyMemory<byte> BodyOf(RawEnvelope envelope)
    {
        var (start, length) = envelope.BodyRange();
        return envelope.Bytes.Slice(start, length);
    }

    /// <summary>
    /// Opens every sealed message of the bundle and hands each sender's plaintext length to <paramref name="deliver"/>
    /// (the plaintext is the start of the open buffer until the next message), in client order. The bundle must hold
    /// exactly one message from every client it does not list as lost.
    /// </summary>
    private void Open(ReadOnlyMemory<byte> bytes, byte kind, byte flags, Action<int, int> deliver)
    {
        var bundle = BundleView.Parse(bytes.Span);
        if (bundle.Exchange != _exchange)
            throw new SealedMessageException($"the relay sent the bundle of exchange {bundle.Exchange} in round {_round}, where exchange {_exchange} was due (a replayed or reordered bundle)");
        var (seen, lostNow) = (_seen, _lostNow);
        Array.Clear(seen);
        lostNow.Clear();
        int last = -1;
        bundle.Entries(sealedBytes =>
        {
            var view = SealedView.Parse(sealedBytes);
            int sender = view.Sender;
            if (sender < 0 || sender >= ClientCount)
                throw new SealedMessageException($"the bundle of round {_round} holds a message from client {sender}, outside [0, {ClientCount})");
            if (seen[sender] || sender <= last)
                throw new SealedMessageException($"the bundle of round {_round} holds client {sender}'s message {(seen[sender] ? "twice" : "out of client order")} (a replayed or reordered message)");
            if (_lost[sender])
                throw new SealedMessageException($"the bundle of round {_round} holds a message from client {sender}, which was lost earlier (private mode has no rejoin)");
            seen[sender] = true;
            last = sender;
            if (view.Exchange != _exchange || view.Nonce.Length != RunKey.NonceBytes || view.Ciphertext.Length < RunKey.TagBytes
                || view.Ciphertext.Length - RunKey.TagBytes > _opened.Length)
                throw new SealedMessageException($"client {sender}'s sealed message of round {_round} is not of this exchange or has impossible sizes (exchange {view.Exchange}, expected {_exchange})");
            new SealContext(_runId, _exchange, _round, _step, sender, kind, flags).Write(_associated, _digest);
            var plaintext = _opened.AsSpan(0, view.Ciphertext.Length - RunKey.TagBytes);
            if (!_key.TryOpen(view.Nonce, view.Ciphertext, _associated, plaintext))
                throw new SealedMessageException(
                    $"the sealed message from client {sender} in round {_round} (exchange {_exchange}) failed authentication: it was altered, replayed or relabelled by the relay, " +
                    "or client " + sender + " computed at another model (the clients diverged, or the relay sent them different bundles)");
            deliver(sender, plaintext.Length);
        }, lost =>
        {
            if (lost < 0 || lost >= ClientCount) throw new SealedMessageException($"the bundle of round {_round} lists client {lost} as lost, outside [0, {ClientCount})");
            if (!_lost[lost]) lostNow.Add(lost);
            seen[lost] = true;
        });
        for (int i = 0; i < ClientCount; i++)
            if (!seen[i] && !_lost[i])
                throw new SealedMessageException($"the relay dropped client {i}'s sealed message of round {_round} (exchange {_exchange}): it is neither in the bundle nor reported lost");
        if (lostNow.Count == 0) return;
        foreach (int i in lostNow) _lost[i] = true;
        if (_lost[_self]) throw new SealedMessageException($"the relay reports this client ({_self}) lost in round {_round}");
        if (!_continueOnLoss)
            throw new ClientLostException($"the relay lost client{(lostNow.Count > 1 ? "s" : "")} {string.Join(", ", lostNow)} in round {_round} (--on-client-loss fail: stopping)");
    }

    public void Dispose()
    {
        _scratch.Dispose();
        _regenerator?.Dispose();
    }
}
