using System.Buffers.Binary;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Kernels;
using Fednl.Network;

namespace Fednl.Tests.Network;

/// <summary>The wire format on its own: updates round-trip exactly, and every malformed frame is named.</summary>
public sealed class ProtocolTests
{
    private static ClientUpdate MakeUpdate(CompressorSpec spec, int round, ulong seed)
    {
        var update = new ClientUpdate(0, spec) { Round = round, Loss = 0.5, DifferenceNorm = 2.25, DifferenceNormDelta = -0.125 };
        var random = new Random(1);
        for (int i = 0; i < spec.Dimension; i++) update.Gradient[i] = random.NextDouble() - 0.5;
        var m = new double[spec.PackedLength];
        for (int e = 0; e < m.Length; e++) m[e] = random.NextDouble() - 0.5;
        using var compressor = new HessianCompressor(spec);
        compressor.Compress(m, seed, update.Difference);
        return update;
    }

    private static byte[] Encode(ClientUpdate update, CompressorSpec spec)
    {
        var buffer = new byte[UpdateCodec.MaxPayload(spec)];
        int length = UpdateCodec.Write(buffer, update, spec);
        return buffer[..length];
    }

    [TestCase(CompressorKind.Identical)]
    [TestCase(CompressorKind.TopK)]
    [TestCase(CompressorKind.TopLEK)]
    [TestCase(CompressorKind.RandK)]
    [TestCase(CompressorKind.RandSeqK)]
    [TestCase(CompressorKind.Natural)]
    public void Updates_round_trip_bit_for_bit(CompressorKind kind)
    {
        var spec = new CompressorSpec(kind, 7, 2); // D = 28, K = 14; natural's 28 values pack 2 per 3 bytes
        var sent = MakeUpdate(spec, 4, 99);
        var payload = Encode(sent, spec);
        if (kind == CompressorKind.Natural) Assert.That(payload, Has.Length.EqualTo(4 + 24 + 8 * 7 + 5 + 42), "12 bits per natural value");
        if (kind is CompressorKind.RandK or CompressorKind.RandSeqK) Assert.That(payload, Has.Length.EqualTo(4 + 24 + 8 * 7 + 5 + 8 * 14), "no indices sent");
        var received = new ClientUpdate(0, spec);
        using var regenerator = new HessianCompressor(spec);
        UpdateCodec.Read(payload, 4, spec, received, regenerator, 99);
        Assert.That(received.Loss, Is.EqualTo(sent.Loss));
        Assert.That(received.DifferenceNorm, Is.EqualTo(sent.DifferenceNorm));
        Assert.That(received.DifferenceNormDelta, Is.EqualTo(sent.DifferenceNormDelta));
        Assert.That(received.Gradient, Is.EqualTo(sent.Gradient));
        Assert.That(received.Difference.Count, Is.EqualTo(sent.Difference.Count));
        Assert.That(received.Difference.UsedValues.ToArray(), Is.EqualTo(sent.Difference.UsedValues.ToArray()));
        if (!spec.IsDense) Assert.That(received.Difference.UsedIndices.ToArray(), Is.EqualTo(sent.Difference.UsedIndices.ToArray()), "indices sent or regenerated");
    }

    [Test]
    public void Natural_values_that_are_not_powers_of_two_fall_back_to_fp64()
    {
        var spec = new CompressorSpec(CompressorKind.Natural, 3, 1);
        var sent = MakeUpdate(spec, 0, 5);
        sent.Difference.Values[2] = double.Epsilon * 3; // a subnormal: mantissa bits set
        var payload = Encode(sent, spec);
        Assert.That(payload, Has.Length.EqualTo(4 + 24 + 24 + 5 + 8 * 6));
        var received = new ClientUpdate(0, spec);
        UpdateCodec.Read(payload, 0, spec, received, null, 5);
        Assert.That(received.Difference.Values[2], Is.EqualTo(double.Epsilon * 3));
    }

    [Test]
    public void Malformed_updates_are_refused_with_the_reason()
    {
        var spec = new CompressorSpec(CompressorKind.TopK, 6, 2);
        var payload = Encode(MakeUpdate(spec, 3, 1), spec);
        var target = new ClientUpdate(0, spec);
        ProtocolError Read(byte[] bytes, int round = 3) =>
            Assert.Throws<ProtocolException>(() => UpdateCodec.Read(bytes, round, spec, target, null, 1))!.Code;

        Assert.That(Read(payload, round: 4), Is.EqualTo(ProtocolError.WrongRound));
        Assert.That(Read(payload[..^3]), Is.EqualTo(ProtocolError.MalformedFrame), "truncated");
        Assert.That(Read([.. payload, 0]), Is.EqualTo(ProtocolError.MalformedFrame), "trailing byte");

        int indexOffset = 4 + 24 + 8 * 6 + 5;
        var swapped = (byte[])payload.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(swapped.AsSpan(indexOffset), 20); // second index is 20 as well? out of order next
        BinaryPrimitives.WriteInt32LittleEndian(swapped.AsSpan(indexOffset + 4), 20);
        Assert.That(Read(swapped), Is.EqualTo(ProtocolError.MalformedFrame), "indices must ascend");
        var outOfRange = (byte[])payload.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(outOfRange.AsSpan(indexOffset + 4 * 11), 21);
        Assert.That(Read(outOfRange), Is.EqualTo(ProtocolError.MalformedFrame), "index beyond D = 21");
        var count = (byte[])payload.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(count.AsSpan(indexOffset - 5), 11);
        Assert.That(Read(count), Is.EqualTo(ProtocolError.MalformedFrame), "topk sends exactly K");
        var nan = (byte[])payload.Clone();
        BinaryPrimitives.WriteDoubleLittleEndian(nan.AsSpan(4), double.NaN);
        Assert.That(Assert.Throws<ProtocolException>(() => UpdateCodec.Read(nan, 3, spec, target, null, 1))!.Message, Does.Contain("non-finite f_i"));
    }

    [Test]
    public async Task Frame_headers_are_checked_before_the_payload_is_read()
    {
        async Task<ProtocolException> Receive(byte[] bytes)
        {
            await using var connection = new FrameConnection(new MemoryStream(bytes), "peer");
            return (await Assert.ThrowsAsync<ProtocolException>(async () => await connection.ReceiveAsync(CancellationToken.None)))!;
        }
        var header = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 5000);
        header[4] = Protocol.Version;
        header[5] = (byte)FrameType.Hello;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.Oversized));
        header[4] = 9;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        header[4] = Protocol.Version;
        header[5] = 0;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.UnexpectedFrame));
        header[5] = (byte)FrameType.Hello;
        header[6] = 1;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.MalformedFrame));
    }

    [Test]
    public void Handshake_messages_round_trip()
    {
        var hello = new Hello(Guid.NewGuid(), 5, 301, 350, 142, 123, 12.5, KeepAll: true, DatasetSamples: 49_749);
        var buffer = new byte[256];
        Assert.That(Hello.Read(buffer.AsSpan(0, hello.Write(buffer))), Is.EqualTo(hello));
        buffer[Hello.PayloadBytes - 9] = 2; // split mode
        Assert.Throws<ProtocolException>(() => Hello.Read(buffer.AsSpan(0, Hello.PayloadBytes)));
        var welcome = new Welcome(Guid.NewGuid(), 142, 301, Algorithm.FedNLLineSearch, CompressorKind.RandSeqK, FedNLOption.Option2,
            8, 2408, 1e-3, 0.05, 123);
        Assert.That(Welcome.Read(buffer.AsSpan(0, welcome.Write(buffer))), Is.EqualTo(welcome));
        buffer[16 + 8] = 77; // algorithm byte
        Assert.Throws<ProtocolException>(() => Welcome.Read(buffer.AsSpan(0, Welcome.PayloadBytes)));
    }
}
