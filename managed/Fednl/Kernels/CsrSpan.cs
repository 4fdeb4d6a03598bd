using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>
/// A borrowed view of sparse rows in CSR form, exactly as the native kernel takes them: 64-bit row pointers
/// (rows + 1, starting at 0), 0-based 32-bit column indices strictly ascending within each row, and values.
/// </summary>
public readonly ref struct CsrSpan
{
    public CsrSpan(ReadOnlySpan<long> rowPointers, ReadOnlySpan<int> columnIndices, ReadOnlySpan<double> values, int columns)
    {
        if (rowPointers.Length < 1)
            throw new ArgumentException("CSR row pointers need at least one entry (rows + 1).", nameof(rowPointers));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "CSR needs at least one column.");
        long entries = rowPointers[^1];
        if (rowPointers[0] != 0 || entries < 0 || entries > columnIndices.Length || entries > values.Length)
            throw new ArgumentException(
                $"CSR row pointers run from {rowPointers[0]} to {entries}, but there are {columnIndices.Length} indices and {values.Length} values.",
                nameof(rowPointers));
        RowPointers = rowPointers;
        ColumnIndices = columnIndices;
        Values = values;
        Columns = columns;
    }

    public ReadOnlySpan<long> RowPointers { get; }
    public ReadOnlySpan<int> ColumnIndices { get; }
    public ReadOnlySpan<double> Values { get; }
    public int Columns { get; }
    public int Rows => RowPointers.Length - 1;
    public long NonZeros => RowPointers[^1];

    /// <summary>Density nnz / (rows * cols), used to choose between the sparse and dense Hessian paths.</summary>
    public double Density => Rows == 0 ? 0.0 : (double)NonZeros / ((double)Rows * Columns);

    /// <summary>The rows as a dense row-major matrix in the first Rows × Columns entries of <paramref name="rowMajor"/>.</summary>
    public void ToDense(Span<double> rowMajor)
    {
        FednlNative.EnsureLoaded();
        NativeError.Check(NativeMethods.fednl_csr_to_dense(Rows, Columns, in NativeSpan.Ref(RowPointers), in NativeSpan.Ref(ColumnIndices),
            in NativeSpan.Ref(Values), ref NativeSpan.Ref(rowMajor), rowMajor.Length));
    }
}
