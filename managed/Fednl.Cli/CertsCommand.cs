using System.CommandLine;
using System.Net;
using Fednl.Network;

namespace Fednl.Cli;

/// <summary>`fednl certs init`: a CA, a master certificate and per-client certificates for a test deployment.</summary>
internal static class CertsCommand
{
    private static readonly Option<DirectoryInfo> Dir = new("--dir") { Description = "where to write the PEM files", DefaultValueFactory = _ => new DirectoryInfo("certs") };
    private static readonly Option<int> Clients = new("--clients") { Description = "client certificates to create (ids 0..N-1)", Required = true };
    private static readonly Option<string?> Hosts = new("--hosts") { Description = "comma-separated names/addresses of the master (default: localhost, 127.0.0.1, ::1 and this host's name)" };
    private static readonly Option<int> Days = new("--days") { Description = "validity in days", DefaultValueFactory = _ => 30 };

    public static Command Create()
    {
        var init = new Command("init", "create ca.pem/ca.key, master.pem/master.key and client-I.pem/client-I.key");
        foreach (var option in new Option[] { Dir, Clients, Hosts, Days }) init.Options.Add(option);
        init.SetAction(Run);
        return new Command("certs", "certificates for TLS between master and clients") { init };
    }

    private static int Run(ParseResult parse)
    {
        int clients = parse.GetValue(Clients);
        if (clients < 1) throw new UsageException($"--clients must be >= 1, got {clients}");
        int days = parse.GetValue(Days);
        if (days < 1) throw new UsageException($"--days must be >= 1, got {days}");
        var hosts = parse.GetValue(Hosts) is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : ["localhost", "127.0.0.1", "::1", Dns.GetHostName()];
        if (hosts.Length == 0) throw new UsageException("--hosts names no host");
        var dir = parse.GetValue(Dir)!;
        CertificateAuthority.CreateDeployment(dir.FullName, clients, hosts.Distinct().ToArray(), TimeSpan.FromDays(days));
        Console.WriteLine($"wrote {dir.FullName}: ca.pem, ca.key, master.pem, master.key (for {string.Join(", ", hosts)}), client-0..{clients - 1}.pem/.key");
        return CommandRunner.Ok;
    }
}
