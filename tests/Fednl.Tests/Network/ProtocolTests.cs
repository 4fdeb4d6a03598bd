using System.Buffers.Binary;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Kernels;
using Fednl.Messages;
using Fednl.Network.Wire;
using Fednl.Network;
using Google.Protobuf;
using Hello = Fednl.Network.Hello;
using Welcome = Fednl.Network.Welcome;

namespace Fednl.Tests.Network;

/// <summary>The wire schema's codec on its own: every message round-trips exactly, and every malformed one is named.</summary>
public sealed class ProtocolTests
{
    private static ClientReply MakeUpdate(CompressorSpec spec, int round, ulong seed)
    {
        var update = new ClientReply(0, spec) { Round = round, Loss = 0.5, DifferenceNorm = 2.25, DifferenceNormDelta = -0.125 };
        var random = new Random(1);
        for (int i = 0; i < spec.Dimension; i++) update.Gradient[i] = random.NextDouble() - 0.5;
        var m = new double[spec.PackedLength];
        for (int e = 0; e < m.Length; e++) m[e] = random.NextDouble() - 0.5;
        using var compressor = new HessianCompressor(spec);
        compressor.Compress(m, seed, update.Difference!);
        return update;
    }

    private static ClientRequest RoundRequest(CompressorSpec spec, int round) =>
        new ClientRequest(spec.Dimension).ForRound(round, 0.5, new double[spec.Dimension], participate: false);

    /// <summary>The client's reply as bytes on the wire.</summary>
    private static byte[] Encode(ClientRequest request, ClientReply reply, CompressorSpec spec) =>
        WireCodec.Reply(request, reply, spec, new double[spec.PackedLength], new byte[WireCodec.NaturalBytes(spec.PackedLength)]).ToByteArray();

    /// <summary>The bytes as the master receives them: the envelope read in place, not parsed.</summary>
    private static RawEnvelope Raw(byte[] bytes)
    {
        var raw = new RawEnvelope();
        raw.Reset<ClientMessage>(bytes, "message");
        return raw;
    }

    /// <summary>Reads a reply in place (the master's path) and through the generated parser; both must agree bit for bit.</summary>
    private static ClientReply Decode(byte[] bytes, ClientRequest request, CompressorSpec spec, ulong seed)
    {
        var received = new ClientReply(0, spec);
        var parsed = new ClientReply(0, spec);
        using var regenerator = new HessianCompressor(spec);
        WireCodec.ReadReply(Raw(bytes), request, received, spec, regenerator, seed);
        WireCodec.ReadReply(ClientMessage.Parser.ParseFrom(bytes), request, parsed, spec, regenerator, seed);
        Assert.That(Bits([received.Loss, received.DifferenceNorm, received.DifferenceNormDelta, .. received.Gradient]),
            Is.EqualTo(Bits([parsed.Loss, parsed.DifferenceNorm, parsed.DifferenceNormDelta, .. parsed.Gradient])), "in place and parsed: scalars and gradient");
        if (received.Difference is { } s)
        {
            Assert.That(s.Count, Is.EqualTo(parsed.Difference!.Count));
            Assert.That(Bits(s.UsedValues.ToArray()), Is.EqualTo(Bits(parsed.Difference.UsedValues.ToArray())), "in place and parsed: values");
        }
        return received;
    }

    private static long[] Bits(double[] values) => values.Select(BitConverter.DoubleToInt64Bits).ToArray();

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
        var request = RoundRequest(spec, 4);
        var bytes = Encode(request, sent, spec);
        var update = ClientMessage.Parser.ParseFrom(bytes).Update;
        if (kind == CompressorKind.Natural) Assert.That(update.NaturalValues.Length, Is.EqualTo(42), "12 bits per natural value");
        if (kind is CompressorKind.RandK or CompressorKind.RandSeqK) Assert.That(update.Indices.IsEmpty, "no indices sent");
        var received = Decode(bytes, request, spec, 99);
        Assert.That(received.Loss, Is.EqualTo(sent.Loss));
        Assert.That(received.DifferenceNorm, Is.EqualTo(sent.DifferenceNorm));
        Assert.That(received.DifferenceNormDelta, Is.EqualTo(sent.DifferenceNormDelta));
        Assert.That(received.Gradient, Is.EqualTo(sent.Gradient));
        Assert.That(received.Difference!.Count, Is.EqualTo(sent.Difference!.Count));
        Assert.That(received.Difference!.UsedValues.ToArray(), Is.EqualTo(sent.Difference!.UsedValues.ToArray()));
        if (!spec.IsDense) Assert.That(received.Difference!.UsedIndices.ToArray(), Is.EqualTo(sent.Difference!.UsedIndices.ToArray()), "indices sent or regenerated");
    }

    [Test]
    public void Negative_zeros_and_subnormals_keep_their_bits_and_natural_falls_back_to_fp64_for_them()
    {
        var spec = new CompressorSpec(CompressorKind.Natural, 3, 1);
        var sent = MakeUpdate(spec, 0, 5);
        sent.Difference!.Values[2] = double.Epsilon * 3; // a subnormal: mantissa bits set, not natural's 12 bits
        sent.Gradient[1] = -0.0;
        sent.Loss = -0.0;                                 // proto3's implicit presence would drop it: the schema uses optional
        sent.DifferenceNormDelta = -double.Epsilon;
        var request = RoundRequest(spec, 0);
        var bytes = Encode(request, sent, spec);
        Assert.That(ClientMessage.Parser.ParseFrom(bytes).Update.Values.Length, Is.EqualTo(8 * 6), "FP64 values");
        var received = Decode(bytes, request, spec, 5);
        Assert.That(BitConverter.DoubleToInt64Bits(received.Difference!.Values[2]), Is.EqualTo(BitConverter.DoubleToInt64Bits(double.Epsilon * 3)));
        Assert.That(BitConverter.DoubleToInt64Bits(received.Gradient[1]), Is.EqualTo(BitConverter.DoubleToInt64Bits(-0.0)));
        Assert.That(BitConverter.DoubleToInt64Bits(received.Loss), Is.EqualTo(BitConverter.DoubleToInt64Bits(-0.0)));
        Assert.That(received.DifferenceNormDelta, Is.EqualTo(-double.Epsilon));
    }

    [Test]
    public void Malformed_updates_are_refused_with_the_reason()
    {
        var spec = new CompressorSpec(CompressorKind.TopK, 6, 2);
        var request = RoundRequest(spec, 3);
        var good = ClientMessage.Parser.ParseFrom(Encode(request, MakeUpdate(spec, 3, 1), spec));
        var target = new ClientReply(0, spec);
        ProtocolException Read(Action<Update> spoil, int round = 3)
        {
            var message = good.Clone();
            spoil(message.Update);
            var parsed = Assert.Throws<ProtocolException>(() => WireCodec.ReadReply(message, RoundRequest(spec, round), target, spec, null, 1))!;
            // The master's in-place reader refuses the same message with the same words.
            var inPlace = Assert.Throws<ProtocolException>(() => WireCodec.ReadReply(Raw(message.ToByteArray()), RoundRequest(spec, round), target, spec, null, 1))!;
            Assert.That((inPlace.Code, inPlace.Message), Is.EqualTo((parsed.Code, parsed.Message)));
            return parsed;
        }
        static ByteString Doubles(params double[] values) => ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));

        Assert.That(Read(_ => { }, round: 4).Code, Is.EqualTo(ProtocolError.WrongRound));
        Assert.That(Read(u => u.Gradient = ByteString.CopyFrom(u.Gradient.Span[..^8])).Message, Does.Contain("Update gradient has 40 bytes; it must hold 6 doubles"));
        Assert.That(Read(u => u.ClearLoss()).Message, Does.Contain("Update f_i is missing"));
        Assert.That(Read(u => u.Loss = double.NaN).Message, Does.Contain("Update f_i is not finite (NaN)"));
        Assert.That(Read(u => u.Gradient = Doubles(0, 0, double.PositiveInfinity, 0, 0, 0)).Message, Does.Contain("non-finite entry"));
        Assert.That(Read(u => u.Values = Doubles([.. new double[11], double.NaN])).Message, Does.Contain("non-finite compressed value"));
        Assert.That(Read(u => u.Count = 11).Message, Does.Contain("index bytes for 11 entries"), "as many indices and values as it says");
        Assert.That(Read(u => u.Count = 13).Message, Does.Contain("at most 12"));
        Assert.That(Read(u => u.NaturalValues = ByteString.CopyFrom(1, 2, 3)).Message, Does.Contain("natural codes, not valid"));

        var indices = good.Update.Indices.ToByteArray();
        BinaryPrimitives.WriteInt32LittleEndian(indices.AsSpan(4), BinaryPrimitives.ReadInt32LittleEndian(indices));
        Assert.That(Read(u => u.Indices = ByteString.CopyFrom(indices)).Message, Does.Contain("out of range or out of order"), "indices must ascend");
        indices = good.Update.Indices.ToByteArray();
        BinaryPrimitives.WriteInt32LittleEndian(indices.AsSpan(4 * 11), 21);
        Assert.That(Read(u => u.Indices = ByteString.CopyFrom(indices)).Message, Does.Contain("index 21 at position 11"), "index beyond D = 21");
    }

    [Test]
    public void Truncated_or_trailing_bytes_do_not_parse_or_fail_the_length_checks()
    {
        var spec = new CompressorSpec(CompressorKind.RandSeqK, 6, 2);
        var request = RoundRequest(spec, 3);
        var bytes = Encode(request, MakeUpdate(spec, 3, 1), spec);
        for (int cut = 1; cut < bytes.Length; cut += 7)
        {
            // In place, a cut anywhere is refused: by the envelope or Update reader, or by the length checks.
            Assert.Throws<ProtocolException>(() => WireCodec.ReadReply(Raw(bytes[..cut]), request, new ClientReply(0, spec), spec,
                new HessianCompressor(spec), 1), $"in place, cut at {cut} of {bytes.Length} bytes");
            ClientMessage message;
            try
            {
                message = ClientMessage.Parser.ParseFrom(bytes.AsSpan(0, cut));
            }
            catch (InvalidProtocolBufferException)
            {
                continue; // the frame reader turns this into a named MalformedFrame error
            }
            Assert.Throws<ProtocolException>(() => WireCodec.ReadReply(message, request, new ClientReply(0, spec), spec,
                new HessianCompressor(spec), 1), $"cut at {cut} of {bytes.Length} bytes");
        }
    }

    [Test]
    public void Every_request_round_trips_and_a_reply_of_the_wrong_kind_is_refused()
    {
        var spec = new CompressorSpec(CompressorKind.TopK, 4, 1);
        var x = new[] { 1.0, -0.0, double.Epsilon, -2.5 };
        var state = new ClientState(2, 4) { LocalDifferenceNorm = 0.75 };
        for (int e = 0; e < state.Shift.Length; e++) state.Shift[e] = e - 3.5;
        var sent = new ClientRequest(4);
        var received = new ClientRequest(4);
        var into = new ClientState(2, 4);
        void RoundTrip()
        {
            Assert.That(WireCodec.ReadRequest(MasterMessage.Parser.ParseFrom(WireCodec.Request(sent, 2).ToByteArray()), received, into), Is.True);
            Assert.That(received.Kind, Is.EqualTo(sent.Kind));
            Assert.That(received.Round, Is.EqualTo(sent.Round));
            Assert.That(received.Participate, Is.EqualTo(sent.Participate));
            Assert.That(received.WantGradient, Is.EqualTo(sent.WantGradient));
            Assert.That(received.Vector.Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(sent.Vector.Select(BitConverter.DoubleToInt64Bits)));
        }
        sent.Initialize(x, partialParticipation: true);
        RoundTrip();
        sent.ForRound(7, 0.25, x, participate: true);
        RoundTrip();
        Assert.That(received.Alpha, Is.EqualTo(0.25));
        sent.Evaluate(7, x, wantGradient: true);
        RoundTrip();
        sent.Restore(7, [new ClientState(0, 4), new ClientState(1, 4), state], partialParticipation: false);
        RoundTrip();
        Assert.That(into.Shift, Is.EqualTo(state.Shift));
        Assert.That(into.LocalDifferenceNorm, Is.EqualTo(0.75));

        var evaluation = new ClientMessage { Evaluation = new Evaluation { Round = 7, Loss = 1 } };
        var round = RoundRequest(spec, 7);
        var error = Assert.Throws<ProtocolException>(() => WireCodec.ReadReply(evaluation, round, new ClientReply(0, spec), spec, null, 0))!;
        Assert.That(error.Code, Is.EqualTo(ProtocolError.UnexpectedFrame));
        Assert.That(error.Message, Does.Contain("Evaluation where Update was expected"));
        var scale = new MasterMessage { Scale = new Scale { Divisors = ByteString.CopyFrom(new byte[32]) } };
        Assert.That(Assert.Throws<ProtocolException>(() => WireCodec.ReadRequest(scale, received, into))!.Message, Does.Contain("Scale has divisor 0"));
    }

    [Test]
    public async Task Frame_headers_are_checked_before_the_payload_is_read()
    {
        async Task<ProtocolException> Receive(byte[] bytes)
        {
            await using var connection = new ClientConnection(new MemoryStream(bytes), "peer");
            return (await Assert.ThrowsAsync<ProtocolException>(async () => await connection.ReceiveAsync(CancellationToken.None)))!;
        }
        var header = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 5000);
        header[4] = Protocol.Version;
        header[5] = (byte)ClientMessage.BodyOneofCase.Hello;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.Oversized));
        header[4] = 9;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        header[4] = Protocol.Version;
        header[5] = 0;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.UnexpectedFrame));
        header[5] = (byte)ClientMessage.BodyOneofCase.Hello;
        header[6] = 1;
        Assert.That((await Receive(header)).Code, Is.EqualTo(ProtocolError.MalformedFrame));

        // A header whose kind disagrees with the message it carries, and a payload that does not parse.
        var ready = new ClientMessage { Ready = new Ready() }.ToByteArray();
        byte[] Frame(byte kind, byte[] payload)
        {
            var frame = new byte[8 + payload.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
            frame[4] = Protocol.Version;
            frame[5] = kind;
            payload.CopyTo(frame, 8);
            return frame;
        }
        Assert.That((await Receive(Frame((byte)ClientMessage.BodyOneofCase.Hello, ready))).Message, Does.Contain("the header says kind 1, the message holds kind 5"));
        Assert.That((await Receive(Frame(1, [0xFF, 0xFF, 0xFF]))).Message, Does.Contain("does not parse"));
    }

    [Test]
    public void Handshake_messages_round_trip()
    {
        var hello = new Hello(Guid.NewGuid(), 5, 301, 350, 142, 123, 12.5, KeepAll: true, DatasetSamples: 49_749);
        Assert.That(Hello.FromWire(Fednl.Network.Wire.Hello.Parser.ParseFrom(hello.ToWire().ToByteArray())), Is.EqualTo(hello));
        var old = hello.ToWire();
        old.ProtocolVersion = 2;
        Assert.That(Assert.Throws<ProtocolException>(() => Hello.FromWire(old))!.Code, Is.EqualTo(ProtocolError.UnsupportedVersion));
        var welcome = new Welcome(Guid.NewGuid(), 142, 301, Algorithm.FedNLLineSearch, CompressorKind.RandSeqK, FedNLOption.Option2,
            8, 2408, 1e-3, 0.05, 123);
        Assert.That(Welcome.FromWire(Fednl.Network.Wire.Welcome.Parser.ParseFrom(welcome.ToWire().ToByteArray())), Is.EqualTo(welcome));
        var unknown = welcome.ToWire();
        unknown.Algorithm = 77;
        Assert.Throws<ProtocolException>(() => Welcome.FromWire(unknown));
        var missing = welcome.ToWire();
        missing.ClearAlpha();
        Assert.That(Assert.Throws<ProtocolException>(() => Welcome.FromWire(missing))!.Message, Does.Contain("Welcome alpha is missing"));
    }
}
