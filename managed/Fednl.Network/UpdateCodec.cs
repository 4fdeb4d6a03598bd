using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Kernels;

namespace Fednl.Network;

/// <summary>
/// The <see cref="FrameType.Update"/> payload: round (i32), f_i, l_i, Δl_i (f64), the gradient or Δg_i (d × f64),
/// the entry count (i32), the value encoding (u8), topk/toplek indices (count × i32, ascending), then the values.
/// randk and randseqk indices are not sent: the master regenerates them from the shared seed. Natural-compressed
/// values are powers of two, so sign and exponent (12 bits) carry them exactly; a message holding anything else
/// (a subnormal, NaN) falls back to FP64 values.
/// </summary>
public static class UpdateCodec
{
    public const byte RawValues = 0, NaturalValues = 1;

    /// <summary>Largest Update payload for this compressor.</summary>
    public static int MaxPayload(CompressorSpec spec)
    {
        long entries = spec.IsDense ? spec.PackedLength : spec.K;
        return checked((int)(4 + 24 + 8L * spec.Dimension + 5 + 4 * entries + 8 * entries));
    }

    public static bool SendsIndices(CompressorKind kind) => kind is CompressorKind.TopK or CompressorKind.TopLEK;

    /// <summary>
    /// Writes an update. A dense-kind difference that lives on a Hessian pattern is sent as all D values, expanded
    /// through <paramref name="denseScratch"/> (D doubles).
    /// </summary>
    public static int Write(Span<byte> payload, ClientUpdate update, CompressorSpec spec, Span<double> denseScratch = default)
    {
        var w = new WireWriter(payload);
        w.Int32(update.Round);
        w.Double(update.Loss);
        w.Double(update.DifferenceNorm);
        w.Double(update.DifferenceNormDelta);
        w.Doubles(update.Gradient);
        var s = update.Difference;
        ReadOnlySpan<double> values = s.UsedValues;
        if (s.IsDense && s.Support is not null)
        {
            if (denseScratch.Length < spec.PackedLength)
                throw new ArgumentException($"expanding a pattern update needs {spec.PackedLength} doubles of scratch", nameof(denseScratch));
            s.ExpandDense(denseScratch);
            values = denseScratch[..(int)spec.PackedLength];
        }
        w.Int32(values.Length);
        bool natural = spec.Kind == CompressorKind.Natural && AllPowersOfTwo(values);
        w.Byte(natural ? NaturalValues : RawValues);
        if (SendsIndices(spec.Kind)) w.Int32s(s.UsedIndices);
        if (natural) WriteNatural(ref w, values);
        else w.Doubles(values);
        return w.Position;
    }

    /// <summary>
    /// Reads an update into <paramref name="update"/>, checking every field; randk/randseqk indices are regenerated
    /// with <paramref name="regenerator"/> from <paramref name="compressorSeed"/>.
    /// </summary>
    public static void Read(ReadOnlySpan<byte> payload, int expectedRound, CompressorSpec spec, ClientUpdate update,
        HessianCompressor? regenerator, ulong compressorSeed)
    {
        var r = new WireReader(payload, "Update");
        int round = r.Int32();
        if (round != expectedRound)
            throw new ProtocolException(ProtocolError.WrongRound, $"Update for round {round}, expected round {expectedRound}");
        update.Round = round;
        update.Loss = Finite(r.Double(), "f_i");
        update.DifferenceNorm = Finite(r.Double(), "l_i");
        update.DifferenceNormDelta = Finite(r.Double(), "delta l_i");
        r.Doubles(update.Gradient);
        foreach (double g in update.Gradient) Finite(g, "gradient entry");

        var s = update.Difference;
        int count = r.Int32();
        long capacity = spec.IsDense ? spec.PackedLength : spec.K;
        // TopK sends fewer than K when the client's Hessian pattern has fewer entries; TopLEK often does
        bool upTo = spec.Kind is CompressorKind.TopK or CompressorKind.TopLEK;
        bool countOk = upTo ? count >= 0 && count <= capacity : count == capacity;
        if (!countOk)
            throw new ProtocolException(ProtocolError.MalformedFrame, $"Update carries {count} entries; {spec} sends {(upTo ? "at most " : "")}{capacity}");
        byte encoding = r.Byte();
        if (encoding > NaturalValues || (encoding == NaturalValues && spec.Kind != CompressorKind.Natural))
            throw new ProtocolException(ProtocolError.MalformedFrame, $"Update uses value encoding {encoding}, not valid for {spec}");
        s.Count = count;
        s.Support = null;
        if (SendsIndices(spec.Kind))
        {
            var indices = s.Indices.AsSpan(0, count);
            r.Int32s(indices);
            for (int t = 0; t < count; t++)
                if (indices[t] < 0 || indices[t] >= spec.PackedLength || (t > 0 && indices[t] <= indices[t - 1]))
                    throw new ProtocolException(ProtocolError.MalformedFrame, $"Update index {indices[t]} at position {t} is out of range or out of order");
        }
        else if (!spec.IsDense)
        {
            if (regenerator is null) throw new InvalidOperationException("randk/randseqk updates need a regenerator");
            int regenerated = regenerator.RegenerateIndices(compressorSeed, s.Indices, out _);
            if (regenerated != count)
                throw new ProtocolException(ProtocolError.MalformedFrame, $"Update carries {count} entries, the seed gives {regenerated}");
        }
        var values = s.Values.AsSpan(0, count);
        if (encoding == NaturalValues) ReadNatural(ref r, values);
        else r.Doubles(values);
        foreach (double v in values) Finite(v, "compressed value");
        r.End();
    }

    private static double Finite(double v, string what) => double.IsFinite(v)
        ? v
        : throw new ProtocolException(ProtocolError.MalformedFrame, $"Update has a non-finite {what} ({v})");

    private static bool AllPowersOfTwo(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
            if ((BitConverter.DoubleToInt64Bits(v) & 0x000F_FFFF_FFFF_FFFFL) != 0) return false;
        return true;
    }

    /// <summary>12 bits per value (sign, 11-bit exponent field), two values in three bytes.</summary>
    private static void WriteNatural(ref WireWriter w, ReadOnlySpan<double> values)
    {
        for (int t = 0; t < values.Length; t += 2)
        {
            int c0 = Code(values[t]);
            if (t + 1 < values.Length)
            {
                int c1 = Code(values[t + 1]);
                w.Byte((byte)c0);
                w.Byte((byte)((c0 >> 8) | ((c1 & 0xF) << 4)));
                w.Byte((byte)(c1 >> 4));
            }
            else
            {
                w.Byte((byte)c0);
                w.Byte((byte)(c0 >> 8));
            }
        }
    }

    private static void ReadNatural(ref WireReader r, Span<double> values)
    {
        for (int t = 0; t < values.Length; t += 2)
        {
            int b0 = r.Byte(), b1 = r.Byte();
            values[t] = Value(b0 | ((b1 & 0xF) << 8));
            if (t + 1 < values.Length) values[t + 1] = Value((b1 >> 4) | (r.Byte() << 4));
            else if ((b1 & 0xF0) != 0) throw new ProtocolException(ProtocolError.MalformedFrame, "Update's natural padding bits are not zero");
        }
    }

    private static int Code(double v) => (int)((ulong)BitConverter.DoubleToInt64Bits(v) >> 52);

    private static double Value(int code) => BitConverter.Int64BitsToDouble((long)((ulong)code << 52));
}
