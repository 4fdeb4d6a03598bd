using Fednl.Compression;
using Fednl.Configuration;
using Google.Protobuf;

namespace Fednl.Network;

/// <summary>
/// What a client says when it connects. <see cref="SplitClients"/> is 0 when the client trains on its own local file;
/// otherwise it took slice <see cref="ClientId"/> of a shared file of <see cref="DatasetSamples"/> samples split into
/// that many clients with <see cref="SplitSeed"/> and <see cref="KeepAll"/>, and the master checks all of them
/// against its own settings and the other clients.
/// </summary>
public sealed record Hello(Guid RunId, int ClientId, int Features, int Samples, int SplitClients, ulong SplitSeed,
    double MaxRowNormSquared, bool KeepAll = false, long DatasetSamples = 0)
{
    /// <summary>Private mode: the client's salt share of the run key (<see cref="Protocol.SaltBytes"/> bytes) and its platform.</summary>
    public bool PrivateMode { get; init; }
    public byte[] Salt { get; init; } = [];
    public string Platform { get; init; } = "";

    public Wire.Hello ToWire() => new()
    {
        ProtocolVersion = WireCodec.Version,
        RunId = RunId == Guid.Empty ? ByteString.Empty : ByteString.CopyFrom(RunId.ToByteArray()),
        ClientId = ClientId,
        Features = Features,
        Samples = Samples,
        SplitClients = SplitClients,
        SplitSeed = SplitSeed,
        KeepAll = KeepAll,
        DatasetSamples = DatasetSamples,
        MaxRowNormSquared = MaxRowNormSquared,
        PrivateMode = PrivateMode,
        Salt = ByteString.CopyFrom(Salt),
        Platform = Platform,
    };

    /// <summary>Reads a Hello; the caller checks it against the run.</summary>
    public static Hello FromWire(Wire.Hello m)
    {
        if (m.ProtocolVersion != WireCodec.Version)
            throw new ProtocolException(ProtocolError.UnsupportedVersion,
                $"protocol version {m.ProtocolVersion} is not supported (this side speaks version {WireCodec.Version})");
        if (m.DatasetSamples < 0) throw WireCodec.Malformed($"Hello reports {m.DatasetSamples} samples in its file");
        if (m.PrivateMode && m.Salt.Length != Protocol.SaltBytes)
            throw WireCodec.Malformed($"Hello carries a {m.Salt.Length}-byte salt share; private mode's are {Protocol.SaltBytes} bytes");
        if (m.Platform.Length > Protocol.MaxPlatformLength)
            throw WireCodec.Malformed($"Hello's platform text has {m.Platform.Length} characters, at most {Protocol.MaxPlatformLength}");
        return new Hello(RunIdOf(m.RunId, "Hello", allowEmpty: true), m.ClientId, m.Features, m.Samples, m.SplitClients, m.SplitSeed,
            WireCodec.Required(m.HasMaxRowNormSquared, m.MaxRowNormSquared, "Hello max row norm²"), m.KeepAll, m.DatasetSamples)
        {
            PrivateMode = m.PrivateMode,
            Salt = m.Salt.ToByteArray(),
            Platform = m.Platform,
        };
    }

    internal static Guid RunIdOf(ByteString field, string what, bool allowEmpty)
    {
        if (field.IsEmpty && allowEmpty) return Guid.Empty;
        if (field.Length != 16) throw WireCodec.Malformed($"{what} run id has {field.Length} bytes, must have 16");
        return new Guid(field.Span);
    }
}

/// <summary>The master's answer to a valid <see cref="Hello"/>: the settings every client computes with.</summary>
public sealed record Welcome(Guid RunId, int Clients, int Features, Algorithm Algorithm, CompressorKind Compressor,
    FedNLOption Option, double KMultiplier, long K, double Lambda, double Alpha, ulong Seed)
{
    /// <summary>Private mode: the rest of the settings, since every client runs the server step itself; null otherwise.</summary>
    public Wire.PrivateSettings? Private { get; init; }

    public Wire.Welcome ToWire() => new()
    {
        ProtocolVersion = WireCodec.Version,
        RunId = ByteString.CopyFrom(RunId.ToByteArray()),
        Clients = Clients,
        Features = Features,
        Algorithm = (int)Algorithm,
        Compressor = (int)Compressor,
        Option = (int)Option,
        KMultiplier = KMultiplier,
        K = K,
        Lambda = Lambda,
        Alpha = Alpha,
        Seed = Seed,
        PrivateSettings = Private,
    };

    public static Welcome FromWire(Wire.Welcome m)
    {
        if (m.ProtocolVersion != WireCodec.Version)
            throw new ProtocolException(ProtocolError.UnsupportedVersion,
                $"the master speaks protocol version {m.ProtocolVersion}, this client version {WireCodec.Version}");
        var algorithm = (Algorithm)m.Algorithm;
        var compressor = (CompressorKind)m.Compressor;
        var option = (FedNLOption)m.Option;
        if (!Enum.IsDefined(algorithm) || !Enum.IsDefined(compressor) || !Enum.IsDefined(option))
            throw WireCodec.Malformed($"Welcome names an unknown algorithm, compressor or option ({m.Algorithm}, {m.Compressor}, {m.Option})");
        var welcome = new Welcome(Hello.RunIdOf(m.RunId, "Welcome", allowEmpty: false), m.Clients, m.Features, algorithm, compressor, option,
            WireCodec.Required(m.HasKMultiplier, m.KMultiplier, "Welcome k-multiplier"), m.K, WireCodec.Required(m.HasLambda, m.Lambda, "Welcome lambda"),
            WireCodec.Required(m.HasAlpha, m.Alpha, "Welcome alpha"), m.Seed)
        { Private = m.PrivateSettings };
        if (welcome.Features < 1 || welcome.Clients < 1 || !(welcome.KMultiplier > 0) || !(welcome.Lambda >= 0) || !(welcome.Alpha > 0))
            throw WireCodec.Malformed("Welcome carries impossible settings");
        return welcome;
    }

    public CompressorSpec Spec() => new(Compressor, Features, KMultiplier, Clients);

    /// <summary>The settings a normal master keeps to itself, for the Welcome of a private run.</summary>
    public static Wire.PrivateSettings PrivateSettingsOf(TrainingOptions o, ClientLossPolicy policy)
    {
        var s = new Wire.PrivateSettings
        {
            Rounds = o.Rounds,
            Tolerance = o.Tolerance,
            ClientsPerRound = o.ClientsPerRound,
            HessianRule = (int)o.HessianRule,
            StepSize = (int)o.StepSize,
            LineSearchGamma = o.LineSearchGamma,
            LineSearchC = o.LineSearchC,
            LineSearchMaxTries = o.LineSearchMaxTries,
            DivergenceFactor = o.DivergenceFactor,
            ScaleFeatures = o.ScaleFeatures,
            ContinueOnLoss = policy == ClientLossPolicy.Continue,
        };
        if (o.Alpha is { } alpha) s.AlphaGiven = alpha;
        return s;
    }
}
