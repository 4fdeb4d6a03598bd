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

    public FaultProxy(int upstreamPort)
    {
        UpstreamPort = upstreamPort;
        _listener.Start();
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = "fault-proxy" };
        _acceptor.Start();
    }

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
            Start(() => PumpUp(link));
            Start(() => PumpDown(link));
        }
    }

    private static void Start(ThreadStart body) => new Thread(body) { IsBackground = true, Name = "fault-proxy-pump" }.Start();

    private sealed class Link(Socket client, Socket master)
    {
        public Socket Client { get; } = client;
        public Socket Master { get; } = master;
        public volatile int ClientId = -1;
        public volatile bool Stalled;
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
                link.Master.Send(frame);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Close(link.Master);
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
                var garbage = new byte[64];
                new Random(round).NextBytes(garbage);
                garbage[4] = 77; // never a valid version byte
                link.Master.Send(garbage);
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
