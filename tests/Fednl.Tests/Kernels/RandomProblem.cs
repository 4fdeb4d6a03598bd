namespace Fednl.Tests.Kernels;

/// <summary>A random logistic-regression client in CSR form with a dense twin, for checking kernels.</summary>
internal sealed class RandomProblem
{
    public required long[] RowPointers { get; init; }
    public required int[] ColumnIndices { get; init; }
    public required double[] Values { get; init; }
    public required double[] Labels { get; init; }
    public required double[] Dense { get; init; }
    public required double[] X { get; init; }
    public int Rows => Labels.Length;
    public required int Columns { get; init; }

    /// <summary>Rows with about density·columns entries each; every fifth row is left empty.</summary>
    public static RandomProblem Create(int rows, int columns, double density, int seed)
    {
        var random = new Random(seed);
        var rowPointers = new long[rows + 1];
        var indices = new List<int>();
        var values = new List<double>();
        var dense = new double[rows * columns];
        var labels = new double[rows];
        for (int j = 0; j < rows; j++)
        {
            if (j % 5 != 4)
            {
                for (int i = 0; i < columns; i++)
                {
                    if (random.NextDouble() >= density) continue;
                    double v = random.NextDouble() * 2 - 1;
                    indices.Add(i);
                    values.Add(v);
                    dense[j * columns + i] = v;
                }
            }
            rowPointers[j + 1] = indices.Count;
            labels[j] = random.Next(2) == 0 ? -1.0 : 1.0;
        }
        var x = new double[columns];
        for (int i = 0; i < columns; i++) x[i] = random.NextDouble() - 0.5;
        return new RandomProblem
        {
            RowPointers = rowPointers, ColumnIndices = indices.ToArray(), Values = values.ToArray(),
            Labels = labels, Dense = dense, X = x, Columns = columns,
        };
    }

    public Fednl.Kernels.CsrSpan Csr => new(RowPointers, ColumnIndices, Values, Columns);
}
