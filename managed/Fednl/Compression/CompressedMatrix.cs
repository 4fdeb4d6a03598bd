namespace Fednl.Compression;

/// <summary>
/// A compressed symmetric matrix S = C(M) as the kernel writes it: ascending packed indices and values for the
/// sparse kinds, all D values in packed order (no indices) for identical and natural. The buffers are sized once
/// for the compressor's capacity and reused every round.
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

    /// <summary>True for identical and natural: Values holds all D entries and Indices is empty.</summary>
    public bool IsDense => Spec.IsDense;

    public ReadOnlySpan<int> UsedIndices => IsDense ? ReadOnlySpan<int>.Empty : Indices.AsSpan(0, Count);
    public ReadOnlySpan<double> UsedValues => Values.AsSpan(0, Count);

    /// <summary>Wire cost of this message's index part (spec section 4).</summary>
    public long IndexBytes => Spec.IndexBytes(Count);

    /// <summary>Wire cost of this message's value part (spec section 4).</summary>
    public long ValueBytes => Spec.ValueBytes(Count);

    public void CopyTo(CompressedMatrix destination)
    {
        destination.Count = Count;
        UsedValues.CopyTo(destination.Values);
        UsedIndices.CopyTo(destination.Indices);
    }
}
