using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Fednl.Network;

namespace Fednl.Cli;

/// <summary>Parsing shared by `fednl master` and `fednl client`: endpoints, durations, TLS files, faults.</summary>
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

    /// <summary>"exit-at:R", "stall-at:R", "garbage-at:R" (client) or "kill-at:R" (master).</summary>
    public static (string Kind, int Round) ParseFault(string text)
    {
        int colon = text.IndexOf(':');
        if (colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int round))
            return (text[..colon].ToLowerInvariant(), round);
        throw new UsageException($"--fault '{text}' must be KIND-at:ROUND");
    }

    public static ClientFault ParseClientFault(string text)
    {
        var (kind, round) = ParseFault(text);
        return kind switch
        {
            "exit-at" => new ClientFault(ClientFaultKind.Exit, round),
            "stall-at" => new ClientFault(ClientFaultKind.Stall, round),
            "garbage-at" => new ClientFault(ClientFaultKind.Garbage, round),
            _ => throw new UsageException($"--fault '{text}': expected exit-at:R, stall-at:R or garbage-at:R"),
        };
    }

    public static void WarnInsecure(string who) =>
        Console.Error.WriteLine($"fednl {who}: warning: --insecure: plain TCP, no encryption, no authentication of peers");
}
