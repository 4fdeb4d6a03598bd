using Fednl.Algorithms;
using Fednl.Compression;

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
    public const int PayloadBytes = 16 + 4 * 4 + 8 + 8 + 1 + 8;

    public int Write(Span<byte> payload)
    {
        var w = new WireWriter(payload);
        Span<byte> id = stackalloc byte[16];
        RunId.TryWriteBytes(id);
        w.Bytes(id);
        w.Int32(ClientId);
        w.Int32(Features);
        w.Int32(Samples);
        w.Int32(SplitClients);
        w.UInt64(SplitSeed);
        w.Double(MaxRowNormSquared);
        w.Byte(KeepAll ? (byte)1 : (byte)0);
        w.Int64(DatasetSamples);
        return w.Position;
    }

    public static Hello Read(ReadOnlySpan<byte> payload)
    {
        var r = new WireReader(payload, "Hello");
        var hello = new Hello(new Guid(r.Bytes(16)), r.Int32(), r.Int32(), r.Int32(), r.Int32(), r.UInt64(), r.Double());
        byte keepAll = r.Byte();
        long datasetSamples = r.Int64();
        r.End();
        if (keepAll > 1) throw new ProtocolException(ProtocolError.MalformedFrame, $"Hello has split mode {keepAll}");
        if (datasetSamples < 0) throw new ProtocolException(ProtocolError.MalformedFrame, $"Hello reports {datasetSamples} samples in its file");
        return hello with { KeepAll = keepAll == 1, DatasetSamples = datasetSamples };
    }
}

/// <summary>The master's answer to a valid <see cref="Hello"/>: the settings every client computes with.</summary>
public sealed record Welcome(Guid RunId, int Clients, int Features, Algorithm Algorithm, CompressorKind Compressor,
    FedNLOption Option, double KMultiplier, long K, double Lambda, double Alpha, ulong Seed)
{
    public const int PayloadBytes = 16 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 8;

    public int Write(Span<byte> payload)
    {
        var w = new WireWriter(payload);
        Span<byte> id = stackalloc byte[16];
        RunId.TryWriteBytes(id);
        w.Bytes(id);
        w.Int32(Clients);
        w.Int32(Features);
        w.Byte((byte)Algorithm);
        w.Byte((byte)Compressor);
        w.Byte((byte)Option);
        w.Byte(0);
        w.Double(KMultiplier);
        w.Int64(K);
        w.Double(Lambda);
        w.Double(Alpha);
        w.UInt64(Seed);
        return w.Position;
    }

    public static Welcome Read(ReadOnlySpan<byte> payload)
    {
        var r = new WireReader(payload, "Welcome");
        var runId = new Guid(r.Bytes(16));
        int clients = r.Int32(), features = r.Int32();
        var algorithm = (Algorithm)r.Byte();
        var compressor = (CompressorKind)r.Byte();
        var option = (FedNLOption)r.Byte();
        r.Byte();
        var welcome = new Welcome(runId, clients, features, algorithm, compressor, option, r.Double(), r.Int64(), r.Double(),
            r.Double(), r.UInt64());
        r.End();
        if (!Enum.IsDefined(algorithm) || !Enum.IsDefined(compressor) || !Enum.IsDefined(option))
            throw new ProtocolException(ProtocolError.MalformedFrame, $"Welcome names an unknown algorithm, compressor or option ({(int)algorithm}, {(int)compressor}, {(int)option})");
        if (features < 1 || clients < 1 || !(welcome.KMultiplier > 0) || !(welcome.Lambda >= 0) || !(welcome.Alpha > 0))
            throw new ProtocolException(ProtocolError.MalformedFrame, "Welcome carries impossible settings");
        return welcome;
    }

    public CompressorSpec Spec() => new(Compressor, Features, KMultiplier);
}
