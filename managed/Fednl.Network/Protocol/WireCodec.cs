using System.Runtime.InteropServices;
using CommunityToolkit.HighPerformance;
using Fednl.Compression;
using Fednl.Kernels;
using Fednl.Messages;
using Fednl.Network.Wire;
using Google.Protobuf;

namespace Fednl.Network;

/// <summary>
/// Maps the algorithm's messages (<see cref="ClientRequest"/>, <see cref="ClientReply"/>, <see cref="ClientState"/>)
/// to the wire schema (Protocol/fednl.proto) and back. Every field read is checked against d and the compressor
/// before it is used: lengths, presence of the scalars and finiteness; a bad message throws a
/// <see cref="ProtocolException"/> that names the message and the field. Vectors are written without copies
/// (the message wraps the caller's buffer until it is serialised).
/// </summary>
public static class WireCodec
{
    /// <summary>The protocol version both sides state in Hello and Welcome.</summary>
    public const uint Version = 3;

    static WireCodec()
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the wire format's vectors are little-endian FP64; this machine is big-endian");
    }

    // ---- vectors and scalars ----------------------------------------------------------------------------------

    /// <summary>A bytes field over <paramref name="values"/> (no copy: valid while the buffer is unchanged).</summary>
    internal static ByteString Bytes(ReadOnlyMemory<double> values) => UnsafeByteOperations.UnsafeWrap(values.Cast<double, byte>());

    internal static ByteString Bytes(ReadOnlyMemory<int> values) => UnsafeByteOperations.UnsafeWrap(values.Cast<int, byte>());

    /// <summary>The doubles of a vector field, which must hold exactly <paramref name="count"/> of them, all finite.</summary>
    internal static ReadOnlySpan<double> Doubles(ByteString field, int count, string what, bool finite = true) =>
        Doubles(field.Span, count, what, finite);

    /// <summary>The doubles of a vector field read in place (see <see cref="UpdateView"/>).</summary>
    internal static ReadOnlySpan<double> Doubles(ReadOnlySpan<byte> field, int count, string what, bool finite = true)
    {
        if (field.Length != 8L * count)
            throw Malformed($"{what} has {field.Length} bytes; it must hold {count} doubles ({8L * count} bytes)");
        var values = MemoryMarshal.Cast<byte, double>(field);
        if (finite)
            foreach (double v in values)
                if (!double.IsFinite(v)) throw Malformed($"{what} has a non-finite entry ({v})");
        return values;
    }

    /// <summary>A scalar that must be present (an <c>optional double</c> of the schema).</summary>
    internal static double Required(bool present, double value, string what, bool finite = true)
    {
        if (!present) throw Malformed($"{what} is missing");
        if (finite && !double.IsFinite(value)) throw Malformed($"{what} is not finite ({value})");
        return value;
    }

    internal static ProtocolException Malformed(string message) => new(ProtocolError.MalformedFrame, message);

    // ---- master -> client -------------------------------------------------------------------------------------

    /// <summary>The request as client <paramref name="client"/> receives it (only Restore differs between clients).</summary>
    public static MasterMessage Request(ClientRequest request, int client)
    {
        var x = Bytes(request.Vector);
        switch (request.Kind)
        {
            case RequestKind.Initialize:
                return new MasterMessage { Initialize = new Initialize { PartialParticipation = request.PartialParticipation, Model = x } };
            case RequestKind.Round:
                return new MasterMessage { Round = new Round { Index = request.Round, Alpha = request.Alpha, Model = x, Participate = request.Participate } };
            case RequestKind.Evaluate:
                return new MasterMessage { Evaluate = new Evaluate { Round = request.Round, WantGradient = request.WantGradient, Model = x } };
            case RequestKind.Restore:
                var state = request.StateOf(client);
                var restore = new Restore
                {
                    Round = request.Round,
                    PartialParticipation = request.PartialParticipation,
                    DifferenceNorm = state.LocalDifferenceNorm,
                    Shift = Bytes(state.Shift),
                };
                if (request.PartialParticipation) restore.LocalModel = Bytes(state.LocalModel);
                return new MasterMessage { Restore = restore };
            case RequestKind.FeatureMax:
                return new MasterMessage { FeatureMaxQuery = new FeatureMaxQuery() };
            case RequestKind.Scale:
                return new MasterMessage { Scale = new Scale { Divisors = x } };
            default:
                throw new ArgumentException($"unknown request {request.Kind}", nameof(request));
        }
    }

    /// <summary>
    /// Reads a request into <paramref name="request"/> (a Restore's state into <paramref name="state"/>); false for
    /// a message that is not a request (Shutdown, Error, Welcome), which the caller handles.
    /// </summary>
    public static bool ReadRequest(MasterMessage message, ClientRequest request, ClientState state)
    {
        int d = request.Dimension;
        switch (message.BodyCase)
        {
            case MasterMessage.BodyOneofCase.Initialize:
                request.Initialize(Doubles(message.Initialize.Model, d, "Initialize model"), message.Initialize.PartialParticipation);
                return true;
            case MasterMessage.BodyOneofCase.Round:
            {
                var m = message.Round;
                Round(m.Index, "Round");
                request.ForRound(m.Index, Required(m.HasAlpha, m.Alpha, "Round alpha"), Doubles(m.Model, d, "Round model"), m.Participate);
                return true;
            }
            case MasterMessage.BodyOneofCase.Evaluate:
            {
                var m = message.Evaluate;
                Round(m.Round, "Evaluate");
                request.Evaluate(m.Round, Doubles(m.Model, d, "Evaluate model"), m.WantGradient);
                return true;
            }
            case MasterMessage.BodyOneofCase.Restore:
            {
                var m = message.Restore;
                Round(m.Round, "Restore");
                Doubles(m.Shift, state.Shift.Length, "Restore shift").CopyTo(state.Shift);
                state.LocalDifferenceNorm = Required(m.HasDifferenceNorm, m.DifferenceNorm, "Restore l_i");
                if (m.PartialParticipation) Doubles(m.LocalModel, d, "Restore w_i").CopyTo(state.LocalModel);
                else if (!m.LocalModel.IsEmpty) throw Malformed("Restore carries w_i for a run without partial participation");
                request.Restore(m.Round, [state], m.PartialParticipation);
                return true;
            }
            case MasterMessage.BodyOneofCase.FeatureMaxQuery:
                request.FeatureMax();
                return true;
            case MasterMessage.BodyOneofCase.Scale:
            {
                var divisors = Doubles(message.Scale.Divisors, d, "Scale divisors");
                foreach (double v in divisors)
                    if (!(v > 0)) throw Malformed($"Scale has divisor {v}");
                request.Scale(divisors);
                return true;
            }
            default:
                return false;
        }
    }

    private static void Round(int round, string what)
    {
        if (round < 0) throw Malformed($"{what} names round {round}");
    }

    // ---- client -> master -------------------------------------------------------------------------------------

    /// <summary>
    /// The reply to <paramref name="request"/>. A shift or a dense-kind difference that lives on a Hessian pattern
    /// is sent as all D values, expanded through <paramref name="packed"/> (D doubles); natural's 12-bit codes are
    /// written into <paramref name="codes"/> (<see cref="NaturalBytes"/> of D).
    /// </summary>
    public static ClientMessage Reply(ClientRequest request, ClientReply reply, CompressorSpec spec, double[] packed, byte[] codes)
    {
        switch (request.Kind)
        {
            case RequestKind.Initialize:
                var state = new InitialState();
                if (reply.ShiftSupport is { } support && 12L * support.Length < 8 * spec.PackedLength)
                {
                    // the pattern and its values are shorter than all D entries (sparse data)
                    state.ShiftSupport = Bytes(support);
                    state.Shift = Bytes(reply.ShiftValues.AsMemory(0, support.Length));
                }
                else
                {
                    reply.CopyShiftTo(packed);
                    state.Shift = Bytes(packed.AsMemory(0, (int)spec.PackedLength));
                }
                if (request.PartialParticipation) state.GradientTerm = Bytes(reply.Gradient);
                return new ClientMessage { InitialState = state };
            case RequestKind.Round:
                return new ClientMessage { Update = Update(reply, spec, packed, codes) };
            case RequestKind.Evaluate:
                var evaluation = new Evaluation { Round = request.Round, Loss = reply.Loss };
                if (request.WantGradient) evaluation.Gradient = Bytes(reply.Gradient);
                return new ClientMessage { Evaluation = evaluation };
            case RequestKind.Restore:
                return new ClientMessage { Ready = new Ready() };
            case RequestKind.FeatureMax:
                return new ClientMessage { FeatureMax = new FeatureMax { Maxima = Bytes(reply.FeatureMaxima) } };
            case RequestKind.Scale:
                return new ClientMessage { Scaled = new Scaled { MaxRowNormSquared = reply.MaxRowNormSquared } };
            default:
                throw new ArgumentException($"unknown request {request.Kind}", nameof(request));
        }
    }

    /// <summary>Bytes of <paramref name="count"/> natural codes: 12 bits each, two in three bytes.</summary>
    public static int NaturalBytes(long count) => checked((int)((count * 3 + 1) / 2));

    /// <summary>True when the compressor's indices travel on the wire (the random kinds' are regenerated from the seed).</summary>
    public static bool SendsIndices(CompressorKind kind) => kind is CompressorKind.TopK or CompressorKind.TopLEK;

    private static Update Update(ClientReply reply, CompressorSpec spec, double[] packed, byte[] codes)
    {
        var s = reply.Difference ?? throw new ArgumentException("a round's reply carries S_i", nameof(reply));
        var update = new Update
        {
            Round = reply.Round,
            Loss = reply.Loss,
            DifferenceNorm = reply.DifferenceNorm,
            DifferenceNormDelta = reply.DifferenceNormDelta,
            Gradient = Bytes(reply.Gradient),
        };
        ReadOnlyMemory<double> values = s.Values.AsMemory(0, s.Count);
        if (s.IsDense && s.Support is not null)
        {
            s.ExpandDense(packed);
            values = packed.AsMemory(0, (int)spec.PackedLength);
        }
        update.Count = values.Length;
        if (SendsIndices(spec.Kind)) update.Indices = Bytes(s.Indices.AsMemory(0, s.Count));
        if (spec.Kind == CompressorKind.Natural && AllPowersOfTwo(values.Span))
        {
            int length = WriteNatural(values.Span, codes);
            update.NaturalValues = UnsafeByteOperations.UnsafeWrap(codes.AsMemory(0, length));
        }
        else
        {
            update.Values = Bytes(values);
        }
        return update;
    }

    /// <summary>
    /// Reads a client's reply to <paramref name="request"/> into <paramref name="reply"/>;
    /// randk/randseqk indices are regenerated with <paramref name="regenerator"/> from the seed the client used.
    /// </summary>
    public static void ReadReply(ClientMessage message, ClientRequest request, ClientReply reply, CompressorSpec spec,
        HessianCompressor? regenerator, ulong compressorSeed, int sender = -1)
    {
        var expected = ExpectedReply(request);
        if (message.BodyCase != expected)
            throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{message.BodyCase} where {expected} was expected");
        ReadParsedReply(message, request, reply, spec, regenerator, compressorSeed, sender);
    }

    /// <summary>
    /// As <see cref="ReadReply(ClientMessage, ClientRequest, ClientReply, CompressorSpec, HessianCompressor?, ulong, int)"/>,
    /// from the received bytes: an Update is read in place (no copy of its vectors), the rest is parsed.
    /// </summary>
    public static void ReadReply(RawEnvelope message, ClientRequest request, ClientReply reply, CompressorSpec spec,
        HessianCompressor? regenerator, ulong compressorSeed, int sender = -1)
    {
        var expected = ExpectedReply(request);
        if (message.Kind != (int)expected)
            throw new ProtocolException(ProtocolError.UnexpectedFrame, $"{(ClientMessage.BodyOneofCase)message.Kind} where {expected} was expected");
        if (expected == ClientMessage.BodyOneofCase.Update)
            ReadUpdate(UpdateView.Parse(message.Body), request.Round, spec, reply, regenerator, compressorSeed, sender);
        else if (expected == ClientMessage.BodyOneofCase.InitialState)
            ReadInitialState(message.Body, request, reply, spec);
        else
            ReadParsedReply(message.Parse(ClientMessage.Parser, "ClientMessage"), request, reply, spec, regenerator, compressorSeed, sender);
    }

    private static ClientMessage.BodyOneofCase ExpectedReply(ClientRequest request) => request.Kind switch
    {
        RequestKind.Initialize => ClientMessage.BodyOneofCase.InitialState,
        RequestKind.Round => ClientMessage.BodyOneofCase.Update,
        RequestKind.Evaluate => ClientMessage.BodyOneofCase.Evaluation,
        RequestKind.Restore => ClientMessage.BodyOneofCase.Ready,
        RequestKind.FeatureMax => ClientMessage.BodyOneofCase.FeatureMax,
        _ => ClientMessage.BodyOneofCase.Scaled,
    };

    private static void ReadParsedReply(ClientMessage message, ClientRequest request, ClientReply reply, CompressorSpec spec,
        HessianCompressor? regenerator, ulong compressorSeed, int sender)
    {
        int d = spec.Dimension;
        switch (request.Kind)
        {
            case RequestKind.Initialize:
                ReadInitialState(message.InitialState.Shift.Span, message.InitialState.ShiftSupport.Span, message.InitialState.GradientTerm.Span,
                    request, reply, spec);
                break;
            case RequestKind.Round:
                ReadUpdate(UpdateView.Of(message.Update), request.Round, spec, reply, regenerator, compressorSeed, sender);
                break;
            case RequestKind.Evaluate:
            {
                var m = message.Evaluation;
                if (m.Round != request.Round)
                    throw new ProtocolException(ProtocolError.WrongRound, $"Evaluation for round {m.Round}, expected round {request.Round}");
                reply.Round = m.Round;
                reply.Loss = Required(m.HasLoss, m.Loss, "Evaluation f_i");
                if (request.WantGradient) Doubles(m.Gradient, d, "Evaluation gradient").CopyTo(reply.Gradient);
                else if (!m.Gradient.IsEmpty) throw Malformed("Evaluation carries a gradient that was not asked for");
                break;
            }
            case RequestKind.FeatureMax:
            {
                var maxima = Doubles(message.FeatureMax.Maxima, d, "FeatureMax maxima");
                foreach (double v in maxima)
                    if (v < 0) throw Malformed($"FeatureMax has {v}");
                maxima.CopyTo(reply.FeatureMaxima);
                break;
            }
            case RequestKind.Scale:
            {
                var m = message.Scaled;
                double max = Required(m.HasMaxRowNormSquared, m.MaxRowNormSquared, "Scaled max row norm²");
                if (max < 0) throw Malformed($"Scaled reports max row norm² {max}");
                reply.MaxRowNormSquared = max;
                break;
            }
        }
    }

    /// <summary>Reads a serialised InitialState (the body of a ClientMessage) in place: no copy of its D values.</summary>
    private static void ReadInitialState(ReadOnlySpan<byte> body, ClientRequest request, ClientReply reply, CompressorSpec spec)
    {
        var reader = new ProtoReader(body, "InitialState");
        ReadOnlySpan<byte> shift = default, support = default, gradient = default;
        while (reader.Next(out int field, out int wireType))
        {
            switch ((field, wireType))
            {
                case (InitialState.ShiftFieldNumber, ProtoReader.LengthDelimited): shift = reader.ReadBytes(); break;
                case (InitialState.ShiftSupportFieldNumber, ProtoReader.LengthDelimited): support = reader.ReadBytes(); break;
                case (InitialState.GradientTermFieldNumber, ProtoReader.LengthDelimited): gradient = reader.ReadBytes(); break;
                default: reader.Skip(wireType); break;
            }
        }
        ReadInitialState(shift, support, gradient, request, reply, spec);
    }

    /// <summary>H_i⁰ (all D values, or a pattern and its values) and FedNL-PP's g_i⁰, checked, into the reply.</summary>
    private static void ReadInitialState(ReadOnlySpan<byte> shift, ReadOnlySpan<byte> support, ReadOnlySpan<byte> gradient,
        ClientRequest request, ClientReply reply, CompressorSpec spec)
    {
        if (support.IsEmpty)
        {
            // the buffer is kept for the next initialisation of this reply
            var values = reply.ShiftValues is { } held && held.Length == spec.PackedLength && reply.ShiftSupport is null
                ? held
                : new double[spec.PackedLength];
            Doubles(shift, values.Length, "InitialState shift").CopyTo(values);
            (reply.ShiftValues, reply.ShiftSupport) = (values, null);
        }
        else
        {
            if (support.Length % 4 != 0 || support.Length / 4 > spec.PackedLength)
                throw Malformed($"InitialState has {support.Length} support bytes for D = {spec.PackedLength}");
            var offsets = MemoryMarshal.Cast<byte, int>(support).ToArray();
            for (int t = 0; t < offsets.Length; t++)
                if (offsets[t] < 0 || offsets[t] >= spec.PackedLength || (t > 0 && offsets[t] <= offsets[t - 1]))
                    throw Malformed($"InitialState support offset {offsets[t]} at position {t} is out of range or out of order");
            var values = Doubles(shift, offsets.Length, "InitialState shift").ToArray();
            (reply.ShiftValues, reply.ShiftSupport) = (values, offsets);
        }
        if (request.PartialParticipation) Doubles(gradient, spec.Dimension, "InitialState g_i").CopyTo(reply.Gradient);
        else if (!gradient.IsEmpty) throw Malformed("InitialState carries g_i for a run without partial participation");
    }

    /// <summary>Reads an Update, checking every field against the round and the compressor.</summary>
    public static void ReadUpdate(Update m, int expectedRound, CompressorSpec spec, ClientReply reply, HessianCompressor? regenerator,
        ulong compressorSeed, int sender = -1) => ReadUpdate(UpdateView.Of(m), expectedRound, spec, reply, regenerator, compressorSeed, sender);

    /// <summary>
    /// Reads an Update in place (see <see cref="UpdateView"/>), checking every field as above; permk's block is
    /// regenerated for <paramref name="sender"/>.
    /// </summary>
    public static void ReadUpdate(in UpdateView m, int expectedRound, CompressorSpec spec, ClientReply reply, HessianCompressor? regenerator,
        ulong compressorSeed, int sender = -1)
    {
        if (m.Round != expectedRound)
            throw new ProtocolException(ProtocolError.WrongRound, $"Update for round {m.Round}, expected round {expectedRound}");
        reply.Round = m.Round;
        reply.Loss = Required(m.HasLoss, m.Loss, "Update f_i");
        reply.DifferenceNorm = Required(m.HasDifferenceNorm, m.DifferenceNorm, "Update l_i");
        reply.DifferenceNormDelta = Required(m.HasDifferenceNormDelta, m.DifferenceNormDelta, "Update delta l_i");
        Doubles(m.Gradient, spec.Dimension, "Update gradient").CopyTo(reply.Gradient);

        var s = reply.Difference ?? throw new ArgumentException("a round's reply needs room for S_i", nameof(reply));
        int count = m.Count;
        long capacity = spec.IsDense ? spec.PackedLength : spec.K;
        // TopK sends fewer than K when the client's Hessian pattern has fewer entries; TopLEK often does
        bool upTo = spec.Kind is CompressorKind.TopK or CompressorKind.TopLEK;
        // PermK's blocks have ⌊D/n⌋ entries or one more; the regenerated block says which
        bool countOk = upTo ? count >= 0 && count <= capacity
            : spec.Kind == CompressorKind.PermK ? count >= capacity - 1 && count <= capacity
            : count == capacity;
        if (!countOk)
            throw Malformed($"Update carries {count} entries; {spec} sends {(upTo ? "at most " : "")}{capacity}");
        bool natural = !m.NaturalValues.IsEmpty;
        if (natural && (spec.Kind != CompressorKind.Natural || !m.Values.IsEmpty))
            throw Malformed($"Update carries natural codes, not valid for {spec}{(m.Values.IsEmpty ? "" : " beside FP64 values")}");
        s.Count = count;
        s.Support = null;
        if (SendsIndices(spec.Kind))
        {
            if (m.Indices.Length != 4L * count) throw Malformed($"Update has {m.Indices.Length} index bytes for {count} entries");
            var indices = s.Indices.AsSpan(0, count);
            MemoryMarshal.Cast<byte, int>(m.Indices).CopyTo(indices);
            for (int t = 0; t < count; t++)
                if (indices[t] < 0 || indices[t] >= spec.PackedLength || (t > 0 && indices[t] <= indices[t - 1]))
                    throw Malformed($"Update index {indices[t]} at position {t} is out of range or out of order");
        }
        else
        {
            if (!m.Indices.IsEmpty) throw Malformed($"Update carries indices, which {spec} does not send");
            if (!spec.IsDense)
            {
                if (regenerator is null) throw new InvalidOperationException("randk/randseqk/permk updates need a regenerator");
                if (spec.Kind == CompressorKind.PermK && sender < 0) throw new InvalidOperationException("permk updates are read knowing their sender");
                int regenerated = regenerator.RegenerateIndices(compressorSeed, s.Indices, out _, spec.Kind == CompressorKind.PermK ? sender : null);
                if (regenerated != count)
                    throw Malformed($"Update carries {count} entries, the seed gives {regenerated}");
            }
        }
        var values = s.Values.AsSpan(0, count);
        if (natural)
        {
            if (m.NaturalValues.Length != NaturalBytes(count))
                throw Malformed($"Update has {m.NaturalValues.Length} natural bytes for {count} entries ({NaturalBytes(count)} expected)");
            ReadNatural(m.NaturalValues, values);
        }
        else
        {
            Doubles(m.Values, count, "Update values", finite: false).CopyTo(values);
        }
        foreach (double v in values)
            if (!double.IsFinite(v)) throw Malformed($"Update has a non-finite compressed value ({v})");
    }

    // ---- natural compression's 12-bit codes ---------------------------------------------------------------------

    private static bool AllPowersOfTwo(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
            if ((BitConverter.DoubleToInt64Bits(v) & 0x000F_FFFF_FFFF_FFFFL) != 0) return false;
        return true;
    }

    /// <summary>Sign and 11-bit exponent field of each value (exact for powers of two and zeros), two values in three bytes.</summary>
    private static int WriteNatural(ReadOnlySpan<double> values, Span<byte> codes)
    {
        int b = 0;
        for (int t = 0; t < values.Length; t += 2)
        {
            int c0 = Code(values[t]);
            codes[b++] = (byte)c0;
            if (t + 1 < values.Length)
            {
                int c1 = Code(values[t + 1]);
                codes[b++] = (byte)((c0 >> 8) | ((c1 & 0xF) << 4));
                codes[b++] = (byte)(c1 >> 4);
            }
            else
            {
                codes[b++] = (byte)(c0 >> 8);
            }
        }
        return b;
    }

    private static void ReadNatural(ReadOnlySpan<byte> codes, Span<double> values)
    {
        int b = 0;
        for (int t = 0; t < values.Length; t += 2)
        {
            int b0 = codes[b++], b1 = codes[b++];
            values[t] = Value(b0 | ((b1 & 0xF) << 8));
            if (t + 1 < values.Length) values[t + 1] = Value((b1 >> 4) | (codes[b++] << 4));
            else if ((b1 & 0xF0) != 0) throw Malformed("Update's natural padding bits are not zero");
        }
    }

    private static int Code(double v) => (int)((ulong)BitConverter.DoubleToInt64Bits(v) >> 52);

    private static double Value(int code) => BitConverter.Int64BitsToDouble((long)((ulong)code << 52));
}
