using System.Buffers.Binary;
using System.Net.Sockets;
using System.Net;
using Fednl.Network.Wire;
using Fednl.Network;

namespace Fednl.Tests.Network;

/// <summary>What the proxy does to one client's connection when the master sends it a given round's request.</summary>
internal enum ProxyFault
{
    /// <summary>Run the rule's action (e.g. kill the client process), then close both sides: a crash mid-round.</summary>
    Cut,
    /// <summary>Withhold the request and everything after it; close the client's side once the master gives up: a hung client.</summary>
    Stall,
    /// <summary>Withhold the request and send the master random bytes as the client's answer.</summary>
    Garbage,
}

/// <summary>
/// A TCP proxy between plain-TCP (--insecure) clients and the master that reads the frames it forwards, knows each
/// connection's client id from its Hello, and breaks a connection at a chosen round's request: the faults of a
/// networked run, made from outside the product. It can also freeze every connection at a round (the master then
/// waits, as if the network had stalled) until the test releases it, and point at a new master (a restarted one).
/// With <c>http2</c> it reads the gRPC engine's h2c traffic instead: HTTP/2 frames, forwarded verbatim, whose DATA
/// frames carry the session's length-prefixed messages.
/// </summary>
internal sealed class FaultProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<(int Client, int Round, ProxyFault Fault, Action? Action)> _rules = [];
    private readonly List<Socket> _sockets = [];
    private readonly object _gate = new();
    private readonly Thread _acceptor;
    private readonly ManualResetEventSlim _frozen = new(false), _released = new(false);
    private int _freezeAt = -1;
    private volatile bool _disposed;

    private readonly bool _http2;

    public FaultProxy(int upstreamPort, bool http2 = false)
    {
        UpstreamPort = upstreamPort;
        _http2 = http2;
        _listener.Start();
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = "fault-proxy" };
        _acceptor.Start();
    }

    /// <summary>
    /// Framed engine: every frame the master sends a client passes through this first, with the client's id (−1
    /// before its Hello). It returns the frame to forward (the same, or rewritten), or null to cut the connection.
    /// </summary>
    public Func<int, byte[], byte[]?>? Down { get; set; }

    /// <summary>Framed engine: sees every frame in either direction (true: master to client), as forwarded.</summary>
    public Action<bool, byte[]>? Tap { get; set; }

    /// <summary>Where clients connect.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The master's port; new connections go there (set it to a restarted master's port).</summary>
    public volatile int UpstreamPort;

    /// <summary>When the master sends client <paramref name="client"/> the request of <paramref name="round"/>, apply <paramref name="fault"/>.</summary>
    public void At(int client, int round, ProxyFault fault, Action? action = null)
    {
        lock (_gate) _rules.Add((client, round, fault, action));
    }

    /// <summary>At the first request of <paramref name="round"/> to any client, stop forwarding on every connection.</summary>
    public void FreezeAt(int round) => _freezeAt = round;

    /// <summary>Waits until the freeze has happened.</summary>
    public void WaitUntilFrozen(double seconds = 120)
    {
        if (!_frozen.Wait(TimeSpan.FromSeconds(seconds))) Assert.Fail($"the proxy saw no request of round {_freezeAt} within {seconds} s");
    }

    /// <summary>Closes every connection made so far and forwards new ones normally again.</summary>
    public void ReleaseAndCloseAll()
    {
        _freezeAt = -1;
        _released.Set();
        lock (_gate)
        {
            foreach (var s in _sockets) Close(s);
            _sockets.Clear();
        }
    }

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket client;
            try
            {
                client = _listener.AcceptSocket();
            }
            catch (Exception) when (_disposed)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            var master = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                master.Connect(IPAddress.Loopback, UpstreamPort);
            }
            catch (SocketException)
            {
                Close(client); // no master there: the client sees the connection close, as it would without a proxy
                Close(master);
                continue;
            }
            client.NoDelay = true;
            lock (_gate)
            {
                _sockets.Add(client);
                _sockets.Add(master);
            }
            var link = new Link(client, master);
            if (_http2)
            {
                Start(() => PumpUpHttp2(link));
                Start(() => PumpDownHttp2(link));
            }
            else
            {
                Start(() => PumpUp(link));
                Start(() => PumpDown(link));
            }
        }
    }

    private static void Start(ThreadStart body) => new Thread(body) { IsBackground = true, Name = "fault-proxy-pump" }.Start();

    private sealed class Link(Socket client, Socket master)
    {
        public Socket Client { get; } = client;
        public Socket Master { get; } = master;
        public volatile int ClientId = -1;
        public volatile bool Stalled;
        /// <summary>HTTP/2: the client's session stream, and each direction's bytes of a message not yet complete.</summary>
        public volatile int StreamId = -1;
        public readonly List<byte> Up = [], Down = [];

        public void SendToMaster(ReadOnlySpan<byte> bytes)
        {
            lock (this) Master.Send(bytes);
        }
    }

    /// <summary>Client → master: learns the client id from the Hello; forwards frames whole.</summary>
    private void PumpUp(Link link)
    {
        try
        {
            while (ReadFrame(link.Client) is { } frame)
            {
                if (frame[5] == (byte)ClientMessage.BodyOneofCase.Hello)
                    link.ClientId = ClientMessage.Parser.ParseFrom(frame.AsSpan(Protocol.HeaderBytes)).Hello.ClientId;
                HoldWhileFrozen();
                if (link.Stalled) continue;
                Tap?.Invoke(false, frame);
                link.SendToMaster(frame);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Close(link.Master);
    }

    // ---- HTTP/2 (the gRPC engine over h2c) ------------------------------------------------------------------------

    private const int DataFrame = 0, HeadersFrame = 1, ResetFrame = 3;
    private const byte EndStream = 0x1, Padded = 0x8;

    /// <summary>Client → master: the connection preface, then frames; the Hello on a stream names the client.</summary>
    private void PumpUpHttp2(Link link)
    {
        try
        {
            var preface = new byte[24];
            if (!ReadExactly(link.Client, preface)) return;
            link.SendToMaster(preface);
            while (ReadHttp2Frame(link.Client) is { } frame)
            {
                foreach (var message in Messages(frame, link.Up))
                    if (ClientMessage.Parser.ParseFrom(message) is { BodyCase: ClientMessage.BodyOneofCase.Hello } hello)
                    {
                        link.StreamId = StreamOf(frame);
                        link.ClientId = hello.Hello.ClientId;
                    }
                HoldWhileFrozen();
                if (link.Stalled) continue;
                link.SendToMaster(frame);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Close(link.Master);
        }
    }

    /// <summary>Master → client: applies the rules at the DATA frame that completes a round's request.</summary>
    private void PumpDownHttp2(Link link)
    {
        try
        {
            while (ReadHttp2Frame(link.Master) is { } frame)
            {
                bool withhold = false;
                foreach (var message in Messages(frame, link.Down))
                {
                    if (MasterMessage.Parser.ParseFrom(message) is not { BodyCase: MasterMessage.BodyOneofCase.Round } request) continue;
                    int round = request.Round.Index;
                    if (round == _freezeAt)
                    {
                        _frozen.Set();
                        HoldWhileFrozen();
                    }
                    var outcome = Apply(link, round);
                    if (outcome == Outcome.Finished) return;
                    withhold |= outcome == Outcome.Withhold;
                }
                // A stalled client's session ends when the master gives up on it (trailers or a reset): close its side then.
                bool ends = StreamOf(frame) == link.StreamId && (frame[3] == ResetFrame || (frame[3] == HeadersFrame && (frame[4] & EndStream) != 0));
                if (link.Stalled && ends) break;
                HoldWhileFrozen();
                if (withhold || link.Stalled) continue;
                link.Client.Send(frame);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Close(link.Client);
    }

    private static int StreamOf(byte[] frame) => (int)(BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(5)) & 0x7FFF_FFFF);

    /// <summary>The session messages a DATA frame completes (gRPC's 5-byte prefix: compressed flag, big-endian length).</summary>
    private static List<byte[]> Messages(byte[] frame, List<byte> pending)
    {
        var complete = new List<byte[]>();
        if (frame[3] != DataFrame) return complete;
        var payload = frame.AsSpan(9);
        if ((frame[4] & Padded) != 0) payload = payload[1..^payload[0]];
        foreach (byte b in payload) pending.Add(b);
        while (pending.Count >= 5)
        {
            int length = (pending[1] << 24) | (pending[2] << 16) | (pending[3] << 8) | pending[4];
            if (pending.Count < 5 + length) break;
            complete.Add(pending.GetRange(5, length).ToArray());
            pending.RemoveRange(0, 5 + length);
        }
        return complete;
    }

    /// <summary>One HTTP/2 frame (9-byte header and payload), or null when the connection closed.</summary>
    private static byte[]? ReadHttp2Frame(Socket socket)
    {
        var header = new byte[9];
        if (!ReadExactly(socket, header)) return null;
        int length = (header[0] << 16) | (header[1] << 8) | header[2];
        var frame = new byte[9 + length];
        header.CopyTo(frame, 0);
        return ReadExactly(socket, frame.AsSpan(9)) ? frame : null;
    }

    /// <summary>A DATA frame on the client's stream carrying one session message that does not parse.</summary>
    private static byte[] GarbageHttp2Message(int stream)
    {
        byte[] message = [0x1A, 0x7F, 0x01]; // field 3 (an Update) of 127 bytes, with one byte left
        var frame = new byte[9 + 5 + message.Length];
        int length = 5 + message.Length;
        (frame[0], frame[1], frame[2]) = ((byte)(length >> 16), (byte)(length >> 8), (byte)length);
        frame[3] = DataFrame;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)stream);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(10), (uint)message.Length);
        message.CopyTo(frame, 14);
        return frame;
    }

    /// <summary>Master → client: applies the rules to round requests; forwards everything else.</summary>
    private void PumpDown(Link link)
    {
        try
        {
            while (ReadFrame(link.Master) is { } frame)
            {
                if (frame[5] == (byte)MasterMessage.BodyOneofCase.Round)
                {
                    int round = MasterMessage.Parser.ParseFrom(frame.AsSpan(Protocol.HeaderBytes)).Round.Index;
                    if (round == _freezeAt)
                    {
                        _frozen.Set();
                        HoldWhileFrozen();
                    }
                    var outcome = Apply(link, round);
                    if (outcome == Outcome.Finished) return;
                    if (outcome == Outcome.Withhold) continue;
                }
                HoldWhileFrozen();
                if (link.Stalled) continue;
                if (Down is { } down)
                {
                    if (down(link.ClientId, frame) is not { } forwarded) break;
                    frame = forwarded;
                }
                Tap?.Invoke(true, frame);
                link.Client.Send(frame);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Close(link.Client);
    }

    private enum Outcome { Forward, Withhold, Finished }

    /// <summary>Applies the rule for this client and round, if any.</summary>
    private Outcome Apply(Link link, int round)
    {
        (int Client, int Round, ProxyFault Fault, Action? Action) rule;
        lock (_gate)
        {
            int at = _rules.FindIndex(r => r.Client == link.ClientId && r.Round == round);
            if (at < 0) return Outcome.Forward;
            rule = _rules[at];
            _rules.RemoveAt(at);
        }
        rule.Action?.Invoke();
        switch (rule.Fault)
        {
            case ProxyFault.Cut:
                Close(link.Client);
                Close(link.Master);
                return Outcome.Finished;
            case ProxyFault.Stall:
                link.Stalled = true;
                return Outcome.Withhold;
            default:
                if (_http2)
                {
                    link.SendToMaster(GarbageHttp2Message(link.StreamId));
                    return Outcome.Withhold;
                }
                var garbage = new byte[64];
                new Random(round).NextBytes(garbage);
                garbage[4] = 77; // never a valid version byte
                link.SendToMaster(garbage);
                return Outcome.Withhold;
        }
    }

    private void HoldWhileFrozen()
    {
        if (_frozen.IsSet && !_released.IsSet) _released.Wait(TimeSpan.FromMinutes(5));
    }

    /// <summary>One whole frame (header and payload), or null when the connection closed.</summary>
    private static byte[]? ReadFrame(Socket socket)
    {
        var header = new byte[Protocol.HeaderBytes];
        if (!ReadExactly(socket, header)) return null;
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > 1 << 28) return null;
        var frame = new byte[Protocol.HeaderBytes + length];
        header.CopyTo(frame, 0);
        return ReadExactly(socket, frame.AsSpan(Protocol.HeaderBytes)) ? frame : null;
    }

    private static bool ReadExactly(Socket socket, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = socket.Receive(buffer);
            if (n == 0) return false;
            buffer = buffer[n..];
        }
        return true;
    }

    private static void Close(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Stop();
        ReleaseAndCloseAll();
    }
}
