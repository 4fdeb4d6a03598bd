namespace Fednl.Data;

/// <summary>
/// Labelled samples in CSR form, laid out exactly as the native kernel takes them, so they are handed over without
/// copying: 64-bit row pointers (Samples + 1, from 0), 0-based 32-bit column indices strictly ascending within a row,
/// values, and labels in {−1, +1}.
/// </summary>
public sealed class Dataset
{
    public Dataset(string name, int features, long[] rowPointers, int[] columnIndices, double[] values, double[] labels)
    {
        if (features < 1) throw new ArgumentOutOfRangeException(nameof(features), features, "a dataset needs at least one feature");
        if (rowPointers.Length != labels.Length + 1)
            throw new ArgumentException($"{labels.Length} labels need {labels.Length + 1} row pointers, got {rowPointers.Length}");
        long entries = rowPointers[^1];
        if (rowPointers[0] != 0 || columnIndices.Length < entries || values.Length < entries)
            throw new ArgumentException($"row pointers end at {entries} but there are {columnIndices.Length} indices and {values.Length} values");
        Validate(name, features, rowPointers, columnIndices, values, labels);
        Name = name;
        Features = features;
        RowPointers = rowPointers;
        ColumnIndices = columnIndices;
        Values = values;
        Labels = labels;
    }

    /// <summary>
    /// The kernel trusts its CSR input, so arrays handed in by a host are checked once here: rows ascending, columns
    /// in [0, d) and strictly ascending within a row, finite values, labels −1 or +1.
    /// </summary>
    private static void Validate(string name, int features, long[] rowPointers, int[] columnIndices, double[] values, double[] labels)
    {
        for (int j = 0; j < labels.Length; j++)
        {
            if (labels[j] is not (1.0 or -1.0))
                throw new ArgumentException($"{name}: sample {j} has label {labels[j]}; labels must be -1 or +1");
            long begin = rowPointers[j], end = rowPointers[j + 1];
            if (end < begin) throw new ArgumentException($"{name}: row pointers decrease at sample {j}");
            for (long k = begin; k < end; k++)
            {
                int column = columnIndices[k];
                if (column < 0 || column >= features)
                    throw new ArgumentException($"{name}: sample {j} has column {column}, outside [0, {features})");
                if (k > begin && column <= columnIndices[k - 1])
                    throw new ArgumentException($"{name}: sample {j} has columns out of order ({column} after {columnIndices[k - 1]})");
                if (!double.IsFinite(values[k])) throw new ArgumentException($"{name}: sample {j} has a value that is not finite");
            }
        }
    }

    /// <summary>Where the data came from, for messages and plot legends.</summary>
    public string Name { get; }

    /// <summary>d, the number of features (the intercept column included when one was added).</summary>
    public int Features { get; }

    public long[] RowPointers { get; }
    public int[] ColumnIndices { get; }
    public double[] Values { get; }
    public double[] Labels { get; }

    public int Samples => Labels.Length;
    public long NonZeros => RowPointers[^1];

    /// <summary>nnz / (N · d).</summary>
    public double Density => Samples == 0 ? 0 : (double)NonZeros / ((double)Samples * Features);

    /// <summary>max_j ‖a_j‖²: bounds the curvature of the logistic loss (gradient descent's step).</summary>
    public double MaxRowNormSquared()
    {
        double max = 0;
        for (int j = 0; j < Samples; j++)
        {
            double s = 0;
            foreach (double v in RowValues(j)) s += v * v;
            max = Math.Max(max, s);
        }
        return max;
    }

    public ReadOnlySpan<int> RowIndices(int row) => ColumnIndices.AsSpan((int)RowPointers[row], (int)(RowPointers[row + 1] - RowPointers[row]));
    public ReadOnlySpan<double> RowValues(int row) => Values.AsSpan((int)RowPointers[row], (int)(RowPointers[row + 1] - RowPointers[row]));

    /// <summary>The same samples with a constant 1.0 appended as the last feature (index d).</summary>
    public Dataset WithIntercept()
    {
        var rowPointers = new long[RowPointers.Length];
        var indices = new int[NonZeros + Samples];
        var values = new double[NonZeros + Samples];
        long o = 0;
        for (int j = 0; j < Samples; j++)
        {
            RowIndices(j).CopyTo(indices.AsSpan((int)o));
            RowValues(j).CopyTo(values.AsSpan((int)o));
            o += RowPointers[j + 1] - RowPointers[j];
            indices[o] = Features;
            values[o++] = 1.0;
            rowPointers[j + 1] = o;
        }
        return new Dataset(Name, Features + 1, rowPointers, indices, values, (double[])Labels.Clone());
    }

    /// <summary>A new dataset holding the given rows, in the given order (contiguous copy).</summary>
    public Dataset SelectRows(ReadOnlySpan<int> rows, string name)
    {
        long entries = 0;
        foreach (int r in rows) entries += RowPointers[r + 1] - RowPointers[r];
        var rowPointers = new long[rows.Length + 1];
        var indices = new int[entries];
        var values = new double[entries];
        var labels = new double[rows.Length];
        long o = 0;
        for (int t = 0; t < rows.Length; t++)
        {
            int r = rows[t];
            RowIndices(r).CopyTo(indices.AsSpan((int)o));
            RowValues(r).CopyTo(values.AsSpan((int)o));
            o += RowPointers[r + 1] - RowPointers[r];
            rowPointers[t + 1] = o;
            labels[t] = Labels[r];
        }
        return new Dataset(name, Features, rowPointers, indices, values, labels);
    }
}
