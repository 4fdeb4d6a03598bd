namespace Fednl.Compression;

/// <summary>
/// A compressed symmetric matrix S = C(M) as the kernel writes it: ascending packed indices and values for the
/// sparse kinds; for identical and natural either all D values in packed order (no indices), or — from a client
/// that works on its Hessian pattern — the values on a <see cref="Support"/> of ascending packed offsets, every
/// other entry being zero. On the wire the dense kinds always cost all D entries. The buffers are sized once for
/// the compressor's capacity and reused every round.
/// </summary>
public sealed class CompressedMatrix
{
    public CompressedMatrix(CompressorSpec spec)
    {
        Spec = spec;
        long capacity = spec.IsDense ? spec.PackedLength : spec.K;
        Values = new double[capacity];
        Indices = spec.IsDense ? [] : new int[capacity];
    }

    public CompressorSpec Spec { get; }
    public int[] Indices { get; }
    public double[] Values { get; }

    /// <summary>Entries in use (≤ capacity).</summary>
    public int Count { get; set; }

    /// <summary>True for identical and natural: the message carries every entry's value (and no indices).</summary>
    public bool IsDense => Spec.IsDense;

    /// <summary>
    /// Dense kinds only: the packed offsets (ascending) that <see cref="Values"/> belong to, when the sender's matrix
    /// lives on a Hessian pattern; null when Values holds all D entries. Borrowed from the sender, never copied.
    /// </summary>
    public int[]? Support { get; set; }

    /// <summary>Packed offsets of <see cref="UsedValues"/>; empty when they are all D entries in order.</summary>
    public ReadOnlySpan<int> UsedIndices => IsDense
        ? (Support is null ? ReadOnlySpan<int>.Empty : Support.AsSpan(0, Count))
        : Indices.AsSpan(0, Count);

    public ReadOnlySpan<double> UsedValues => Values.AsSpan(0, Count);

    /// <summary>Entries the message carries on the wire: all D for the dense kinds.</summary>
    public long WireCount => IsDense ? Spec.PackedLength : Count;

    /// <summary>Wire cost of this message's index part (spec section 4).</summary>
    public long IndexBytes => Spec.IndexBytes(WireCount);

    /// <summary>Wire cost of this message's value part (spec section 4).</summary>
    public long ValueBytes => Spec.ValueBytes(WireCount);

    /// <summary>All D values of a dense-kind message in packed order (zero off the support).</summary>
    public void ExpandDense(Span<double> packed)
    {
        if (!IsDense) throw new InvalidOperationException("only identical and natural messages expand to all D values");
        if (Support is null)
        {
            UsedValues.CopyTo(packed);
            return;
        }
        packed[..(int)Spec.PackedLength].Clear();
        for (int t = 0; t < Count; t++) packed[Support[t]] = Values[t];
    }

    public void CopyTo(CompressedMatrix destination)
    {
        destination.Count = Count;
        destination.Support = Support;
        UsedValues.CopyTo(destination.Values);
        if (!IsDense) UsedIndices.CopyTo(destination.Indices);
    }
}
