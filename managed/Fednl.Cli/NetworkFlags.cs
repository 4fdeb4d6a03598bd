using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Fednl.Network;
using Fednl.Network.Grpc;

namespace Fednl.Cli;

/// <summary>Parsing shared by `fednl master` and `fednl client`: endpoints, durations, TLS files.</summary>
internal static class NetworkFlags
{
    /// <summary>"HOST:PORT" (IPv6 as "[::1]:PORT"); the host stays a name, for TLS name checks.</summary>
    public static (string Host, int Port) ParseHostPort(string text, string flag)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
            throw new UsageException($"{flag} '{text}' must be HOST:PORT");
        string host = text[..colon].Trim('[', ']');
        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
            throw new UsageException($"{flag} '{text}': the port must be a number in [0, 65535]");
        return (host, port);
    }

    /// <summary>The address to bind for a listen flag; names resolve (IPv4 first).</summary>
    public static IPEndPoint ParseListen(string text)
    {
        var (host, port) = ParseHostPort(text, "--listen");
        if (IPAddress.TryParse(host, out var address)) return new IPEndPoint(address, port);
        try
        {
            var addresses = Dns.GetHostAddresses(host);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                         ?? throw new UsageException($"--listen '{text}': '{host}' has no address");
            return new IPEndPoint(chosen, port);
        }
        catch (SocketException e)
        {
            throw new UsageException($"--listen '{text}': cannot resolve '{host}' ({e.Message})");
        }
    }

    public static TimeSpan Seconds(double value, string flag) => value > 0 && double.IsFinite(value)
        ? TimeSpan.FromSeconds(value)
        : throw new UsageException($"{flag} must be a positive number of seconds, got {value}");

    public static void WarnInsecure(string who, INetworkEngine? engine) =>
        Console.Error.WriteLine($"fednl {who}: warning: --insecure: {Transport(engine, null)}, no encryption, no authentication of peers");

    /// <summary>`--engine`: what carries the messages; the master's and the clients' must match.</summary>
    public static Option<string> EngineOption() => new("--engine")
    {
        Description = "framed: framed TCP, the default and the fastest | grpc: gRPC over HTTP/2 (the master and its clients must agree)",
        DefaultValueFactory = _ => "framed",
    };

    /// <summary>The engine an `--engine` value names: null for framed TCP (built in).</summary>
    public static INetworkEngine? ParseEngine(string text, int maxDimension) => text.ToLowerInvariant() switch
    {
        "framed" => null,
        "grpc" => new GrpcEngine(maxDimension),
        _ => throw new UsageException($"unknown --engine '{text}' (expected framed|grpc)"),
    };

    /// <summary>"plain TCP", "TLS, mutual authentication", "gRPC over h2c", ... for log lines.</summary>
    public static string Transport(INetworkEngine? engine, TlsSettings? tls) => (engine, tls) switch
    {
        (null, null) => "plain TCP",
        (null, _) => "TLS, mutual authentication",
        (_, null) => $"{engine.Name} over h2c (HTTP/2 without TLS)",
        _ => $"{engine.Name} over TLS, mutual authentication",
    };
}
