using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Fednl.Network;

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

    public static void WarnInsecure(string who) =>
        Console.Error.WriteLine($"fednl {who}: warning: --insecure: plain TCP, no encryption, no authentication of peers");
}
