using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Fednl.Network;

/// <summary>
/// Creates the certificates of a test deployment (`fednl certs init`): a CA, a master certificate for the given
/// host names and addresses, and one certificate per client whose subject names its id ("fednl-client-7"), so
/// the master can bind a connection to the id it claims. Keys are ECDSA P-256, written as PKCS#8 PEM (mode 600).
/// </summary>
public static class CertificateAuthority
{
    public const string CaFile = "ca.pem", CaKeyFile = "ca.key", MasterFile = "master.pem", MasterKeyFile = "master.key";
    public const string ClientPrefix = "fednl-client-";

    public static string ClientFile(int id) => $"client-{id}.pem";
    public static string ClientKeyFile(int id) => $"client-{id}.key";

    /// <summary>Writes ca, master and client-0 … client-(n−1) certificates and keys into <paramref name="directory"/>.</summary>
    public static void CreateDeployment(string directory, int clients, IReadOnlyList<string> masterHosts, TimeSpan validity)
    {
        if (clients < 1) throw new ArgumentException($"clients must be >= 1, got {clients}");
        if (masterHosts.Count == 0) throw new ArgumentException("the master certificate needs at least one host name or address");
        Directory.CreateDirectory(directory);
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore + validity;

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=fednl-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(notBefore, notAfter);
        WritePem(directory, CaFile, ca.ExportCertificatePem(), CaKeyFile, caKey.ExportPkcs8PrivateKeyPem());

        var san = new SubjectAlternativeNameBuilder();
        foreach (var host in masterHosts)
        {
            if (IPAddress.TryParse(host, out var address)) san.AddIpAddress(address);
            else san.AddDnsName(host);
        }
        Issue(directory, ca, caKey, "CN=fednl-master", san.Build(), serverAuth: true, MasterFile, MasterKeyFile, notBefore, notAfter);
        for (int i = 0; i < clients; i++)
            Issue(directory, ca, caKey, $"CN={ClientPrefix}{i}", null, serverAuth: false, ClientFile(i), ClientKeyFile(i), notBefore, notAfter);
    }

    private static void Issue(string directory, X509Certificate2 ca, ECDsa caKey, string subject, X509Extension? san,
        bool serverAuth, string certFile, string keyFile, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usage = new OidCollection { new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") };
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usage, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (san is not null) request.CertificateExtensions.Add(san);
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var cert = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), notBefore, notAfter, serial);
        WritePem(directory, certFile, cert.ExportCertificatePem(), keyFile, key.ExportPkcs8PrivateKeyPem());
    }

    private static void WritePem(string directory, string certFile, string certPem, string keyFile, string keyPem)
    {
        File.WriteAllText(Path.Combine(directory, certFile), certPem + "\n");
        string keyPath = Path.Combine(directory, keyFile);
        File.WriteAllText(keyPath, keyPem + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>The client id a certificate was issued for, or −1 when its subject is not "fednl-client-N".</summary>
    public static int ClientIdOf(X509Certificate2 certificate)
    {
        string name = certificate.GetNameInfo(X509NameType.SimpleName, false);
        return name.StartsWith(ClientPrefix, StringComparison.Ordinal)
               && int.TryParse(name.AsSpan(ClientPrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id)
            ? id
            : -1;
    }
}
