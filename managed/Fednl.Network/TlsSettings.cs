using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Fednl.Network;

/// <summary>
/// TLS for one side of a connection: our certificate (PEM + key) and the CA that must have issued the peer's.
/// Both sides authenticate (mutual TLS); trust is the given CA only, never the system store. Null means plain TCP
/// (--insecure).
/// </summary>
public sealed class TlsSettings : IDisposable
{
    private TlsSettings(X509Certificate2 certificate, X509Certificate2 authority)
    {
        Certificate = certificate;
        Authority = authority;
    }

    public X509Certificate2 Certificate { get; }
    public X509Certificate2 Authority { get; }

    /// <summary>Loads PEM files; errors name the file.</summary>
    public static TlsSettings Load(string caFile, string certFile, string keyFile)
    {
        foreach (var file in new[] { caFile, certFile, keyFile })
            if (!File.Exists(file)) throw new FileNotFoundException($"{file}: no such certificate file (create a test deployment with: fednl certs init --dir DIR --clients N, or run both sides with --insecure)", file);
        X509Certificate2 authority, certificate;
        try
        {
            authority = X509CertificateLoader.LoadCertificateFromFile(caFile);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidDataException($"{caFile}: not a PEM certificate ({e.Message})");
        }
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // Re-import so the private key is usable by the platform TLS stack everywhere (Windows needs a persisted key).
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            authority.Dispose();
            throw new InvalidDataException($"{certFile} / {keyFile}: not a PEM certificate and matching key ({e.Message})");
        }
        return new TlsSettings(certificate, authority);
    }

    /// <summary>Settings from a `fednl certs init` directory for the master.</summary>
    public static TlsSettings ForMaster(string directory) => Load(Path.Combine(directory, CertificateAuthority.CaFile),
        Path.Combine(directory, CertificateAuthority.MasterFile), Path.Combine(directory, CertificateAuthority.MasterKeyFile));

    /// <summary>Settings from a `fednl certs init` directory for client <paramref name="id"/>.</summary>
    public static TlsSettings ForClient(string directory, int id) => Load(Path.Combine(directory, CertificateAuthority.CaFile),
        Path.Combine(directory, CertificateAuthority.ClientFile(id)), Path.Combine(directory, CertificateAuthority.ClientKeyFile(id)));

    /// <summary>True when <paramref name="certificate"/> chains to our CA (and only to it).</summary>
    public bool IsIssuedByAuthority(X509Certificate? certificate, out string problem)
    {
        if (certificate is null) { problem = "no certificate presented"; return false; }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // A private copy: the certificate passed in belongs to the TLS stream and must not be disposed here.
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (chain.Build(leaf)) { problem = ""; return true; }
        problem = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty("untrusted certificate"));
        return false;
    }

    public SslServerAuthenticationOptions ServerOptions() => new()
    {
        ServerCertificate = Certificate,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, certificate, _, _) => IsIssuedByAuthority(certificate, out _),
    };

    public SslClientAuthenticationOptions ClientOptions(string targetHost) => new()
    {
        TargetHost = targetHost,
        ClientCertificates = [Certificate],
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        // The name must match (SslStream checks it); the chain must lead to our CA, not the system's roots.
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && (errors & SslPolicyErrors.RemoteCertificateNotAvailable) == 0
            && IsIssuedByAuthority(certificate, out _),
    };

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}
