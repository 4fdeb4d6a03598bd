using System.Reflection;
using System.Security.Cryptography;
using Fednl.Configuration;
using Fednl.Kernels;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Network.Private;

/// <summary>
/// What the clients of a private run must agree on before the first sealed message: the settings (from the
/// Welcome, hashed into the run key), the platform (every client runs the server step, so all must compute the
/// same bits), and the salt shares the run key is derived with.
/// </summary>
public static class PrivateSession
{
    /// <summary>
    /// What decides the bits of the server step on this machine: the library build, the kernel variant in use and
    /// the BLAS core type OpenBLAS runs (OPENBLAS_CORETYPE, which the library sets before OpenBLAS loads).
    /// </summary>
    public static string Platform()
    {
        var assembly = typeof(PrivateSession).Assembly;
        string version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                         ?? assembly.GetName().Version?.ToString() ?? "unknown";
        string core = Environment.GetEnvironmentVariable(BlasCoreTypeVariable) is { Length: > 0 } c ? c : "auto";
        string platform = $"fednl {version}; kernel {KernelSettings.Active}; BLAS core {core}";
        return platform.Length <= Protocol.MaxPlatformLength ? platform : platform[..Protocol.MaxPlatformLength];
    }

    private const string BlasCoreTypeVariable = "OPENBLAS_CORETYPE";

    /// <summary>A fresh salt share for the run key.</summary>
    public static byte[] NewSalt() => RandomNumberGenerator.GetBytes(Protocol.SaltBytes);

    /// <summary>The training settings a private client runs the algorithm with (the Welcome's, checked).</summary>
    public static TrainingOptions OptionsOf(Welcome welcome)
    {
        var s = welcome.Private ?? throw new ProtocolException(ProtocolError.InconsistentSettings,
            "the master's Welcome carries no private settings: it does not run --private (start it with --private, or drop --private here)");
        var hessianRule = (HessianRule)s.HessianRule;
        var step = (StepSize)s.StepSize;
        if (!Enum.IsDefined(hessianRule) || !Enum.IsDefined(step))
            throw WireCodec.Malformed($"Welcome names an unknown Hessian rule or step size ({s.HessianRule}, {s.StepSize})");
        var options = new TrainingOptions
        {
            Algorithm = welcome.Algorithm,
            Compressor = welcome.Compressor,
            Clients = welcome.Clients,
            Rounds = s.Rounds,
            KMultiplier = welcome.KMultiplier,
            Lambda = welcome.Lambda,
            Option = welcome.Option,
            Alpha = s.HasAlphaGiven ? s.AlphaGiven : null,
            HessianRule = hessianRule,
            ClientsPerRound = s.ClientsPerRound,
            Seed = welcome.Seed,
            Threads = 1,
            Tolerance = WireCodec.Required(s.HasTolerance, s.Tolerance, "Welcome tolerance"),
            LineSearchGamma = WireCodec.Required(s.HasLineSearchGamma, s.LineSearchGamma, "Welcome line-search gamma"),
            LineSearchC = WireCodec.Required(s.HasLineSearchC, s.LineSearchC, "Welcome line-search c"),
            LineSearchMaxTries = s.LineSearchMaxTries,
            DivergenceFactor = WireCodec.Required(s.HasDivergenceFactor, s.DivergenceFactor, "Welcome divergence factor"),
            ScaleFeatures = s.ScaleFeatures,
            StepSize = step,
            MemoryLimitBytes = long.MaxValue,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw WireCodec.Malformed($"Welcome carries settings that cannot run: {e.Message}");
        }
        if (options.Alpha is null && s.HasAlphaGiven) throw WireCodec.Malformed("Welcome alpha is inconsistent");
        if (welcome.Alpha != (options.Alpha ?? welcome.Spec().DefaultAlpha(options.Option)))
            throw WireCodec.Malformed($"Welcome alpha {welcome.Alpha} is not the one its settings give");
        return options;
    }

    /// <summary>SHA-256 of the Welcome as sent: every setting, the run id, n and d.</summary>
    public static byte[] SettingsHash(Welcome welcome) => SHA256.HashData(welcome.ToWire().ToByteArray());

    /// <summary>The roster as the relay sends it: every client's salt share and platform, in client order.</summary>
    public static Roster RosterOf(IReadOnlyList<ClientLink> links)
    {
        var roster = new Roster();
        foreach (var link in links)
        {
            roster.Salts.Add(ByteString.CopyFrom(link.Salt));
            roster.Platforms.Add(link.Platform);
        }
        return roster;
    }

    /// <summary>
    /// Checks the roster against this client: n entries, salt shares of the right size, this client's own share at
    /// its place, and every platform equal to this one's. Returns the salt shares.
    /// </summary>
    public static byte[][] CheckRoster(Roster roster, int clients, int self, byte[] ownSalt, string ownPlatform)
    {
        if (roster.Salts.Count != clients || roster.Platforms.Count != clients)
            throw WireCodec.Malformed($"the roster lists {roster.Salts.Count} salts and {roster.Platforms.Count} platforms for {clients} clients");
        var salts = new byte[clients][];
        for (int i = 0; i < clients; i++)
        {
            if (roster.Salts[i].Length != Protocol.SaltBytes) throw WireCodec.Malformed($"the roster's salt of client {i} has {roster.Salts[i].Length} bytes");
            salts[i] = roster.Salts[i].ToByteArray();
            if (roster.Platforms[i] != ownPlatform)
                throw new ProtocolException(ProtocolError.InconsistentSettings,
                    $"client {i} runs on another platform ({roster.Platforms[i]}) than this client ({ownPlatform}): " +
                    "in private mode every client runs the server step, so all must run the same build, kernel variant (--kernel) and BLAS core type (OPENBLAS_CORETYPE)");
        }
        if (!salts[self].AsSpan().SequenceEqual(ownSalt))
            throw new ProtocolException(ProtocolError.InconsistentSettings, $"the roster does not hold this client's own salt share at place {self}: the relay altered it");
        return salts;
    }
}
