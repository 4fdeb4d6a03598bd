using Fednl.Network.Wire;

namespace Fednl.Network;

/// <summary>
/// An Update read in place: its scalars, and its vectors as slices of the received bytes. The master reads every
/// client's update of a round this way, so the identical compressor's D values per client are copied once, into
/// the client's reply buffers, and never into fresh arrays (the generated parser copies every bytes field). Field
/// semantics are the schema's: a scalar given twice keeps the last value, unknown fields are skipped.
/// </summary>
public readonly ref struct UpdateView
{
    public int Round { get; private init; }
    public bool HasLoss { get; private init; }
    public double Loss { get; private init; }
    public bool HasDifferenceNorm { get; private init; }
    public double DifferenceNorm { get; private init; }
    public bool HasDifferenceNormDelta { get; private init; }
    public double DifferenceNormDelta { get; private init; }
    public ReadOnlySpan<byte> Gradient { get; private init; }
    public int Count { get; private init; }
    public ReadOnlySpan<byte> Indices { get; private init; }
    public ReadOnlySpan<byte> Values { get; private init; }
    public ReadOnlySpan<byte> NaturalValues { get; private init; }

    /// <summary>The view of a parsed Update (its byte strings, not copied).</summary>
    public static UpdateView Of(Update m) => new()
    {
        Round = m.Round,
        HasLoss = m.HasLoss,
        Loss = m.Loss,
        HasDifferenceNorm = m.HasDifferenceNorm,
        DifferenceNorm = m.DifferenceNorm,
        HasDifferenceNormDelta = m.HasDifferenceNormDelta,
        DifferenceNormDelta = m.DifferenceNormDelta,
        Gradient = m.Gradient.Span,
        Count = m.Count,
        Indices = m.Indices.Span,
        Values = m.Values.Span,
        NaturalValues = m.NaturalValues.Span,
    };

    /// <summary>Reads a serialised Update (the body of a ClientMessage) in place.</summary>
    public static UpdateView Parse(ReadOnlySpan<byte> body)
    {
        var reader = new ProtoReader(body, "Update");
        int round = 0, count = 0;
        bool hasLoss = false, hasNorm = false, hasDelta = false;
        double loss = 0, norm = 0, delta = 0;
        ReadOnlySpan<byte> gradient = default, indices = default, values = default, natural = default;
        while (reader.Next(out int field, out int wireType))
        {
            switch ((field, wireType))
            {
                case (Update.RoundFieldNumber, ProtoReader.Varint): round = reader.ReadInt32(); break;
                case (Update.LossFieldNumber, ProtoReader.Fixed64): (hasLoss, loss) = (true, reader.ReadDouble()); break;
                case (Update.DifferenceNormFieldNumber, ProtoReader.Fixed64): (hasNorm, norm) = (true, reader.ReadDouble()); break;
                case (Update.DifferenceNormDeltaFieldNumber, ProtoReader.Fixed64): (hasDelta, delta) = (true, reader.ReadDouble()); break;
                case (Update.GradientFieldNumber, ProtoReader.LengthDelimited): gradient = reader.ReadBytes(); break;
                case (Update.CountFieldNumber, ProtoReader.Varint): count = reader.ReadInt32(); break;
                case (Update.IndicesFieldNumber, ProtoReader.LengthDelimited): indices = reader.ReadBytes(); break;
                case (Update.ValuesFieldNumber, ProtoReader.LengthDelimited): values = reader.ReadBytes(); break;
                case (Update.NaturalValuesFieldNumber, ProtoReader.LengthDelimited): natural = reader.ReadBytes(); break;
                default: reader.Skip(wireType); break;
            }
        }
        return new UpdateView
        {
            Round = round,
            HasLoss = hasLoss,
            Loss = loss,
            HasDifferenceNorm = hasNorm,
            DifferenceNorm = norm,
            HasDifferenceNormDelta = hasDelta,
            DifferenceNormDelta = delta,
            Gradient = gradient,
            Count = count,
            Indices = indices,
            Values = values,
            NaturalValues = natural,
        };
    }
}
