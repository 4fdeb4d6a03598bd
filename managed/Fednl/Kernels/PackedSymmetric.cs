using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>
/// Symmetric d x d matrices stored as their packed upper triangle, row by row: entry (i, j), i &lt;= j, at
/// i*d - i*(i-1)/2 + (j - i). The layout every kernel, compressor and message uses.
/// </summary>
public static class PackedSymmetric
{
    /// <summary>D = d(d+1)/2, the number of stored entries.</summary>
    public static int Length(int dimension) => checked((int)((long)dimension * (dimension + 1) / 2));

    /// <summary>Position of entry (i, j) in either order.</summary>
    public static int Index(int dimension, int i, int j)
    {
        if (i > j) (i, j) = (j, i);
        return i * dimension - i * (i - 1) / 2 + (j - i);
    }

    /// <summary>Frobenius norm of the full symmetric matrix (off-diagonal entries count twice).</summary>
    public static double FrobeniusNorm(int dimension, ReadOnlySpan<double> packed)
    {
        CheckLength(dimension, packed.Length, nameof(packed));
        FednlNative.EnsureLoaded();
        double norm = 0;
        NativeError.Check(NativeMethods.fednl_packed_frobenius_norm(dimension, in NativeSpan.Ref(packed), ref norm));
        return norm;
    }

    /// <summary>Writes the full row-major d x d matrix (both triangles).</summary>
    public static void Unpack(int dimension, ReadOnlySpan<double> packed, Span<double> full)
    {
        CheckLength(dimension, packed.Length, nameof(packed));
        if (full.Length < dimension * dimension)
            throw new ArgumentException($"need {dimension * dimension} entries, got {full.Length}", nameof(full));
        int k = 0;
        for (int i = 0; i < dimension; i++)
            for (int j = i; j < dimension; j++, k++)
                full[i * dimension + j] = full[j * dimension + i] = packed[k];
    }

    internal static void CheckLength(int dimension, int length, string name)
    {
        if (dimension < 0) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "dimension must be >= 0");
        if (length < Length(dimension))
            throw new ArgumentException($"a packed {dimension} x {dimension} matrix has {Length(dimension)} entries, got {length}", name);
    }
}
