namespace Fednl.Benchmarks;

/// <summary>A random client shaped like one w8a client of the paper's split: 350 rows, d = 301, 3.9 % dense.</summary>
internal sealed class ClientProblem
{
    public ClientProblem(int rows, int columns, double density, int seed)
    {
        Rows = rows;
        Columns = columns;
        var random = new Random(seed);
        RowPointers = new long[rows + 1];
        var indices = new List<int>();
        var values = new List<double>();
        Dense = new double[rows * columns];
        Labels = new double[rows];
        for (int j = 0; j < rows; j++)
        {
            for (int i = 0; i < columns; i++)
            {
                if (random.NextDouble() >= density) continue;
                indices.Add(i);
                values.Add(1.0);
                Dense[j * columns + i] = 1.0;
            }
            RowPointers[j + 1] = indices.Count;
            Labels[j] = random.Next(2) == 0 ? -1 : 1;
        }
        ColumnIndices = indices.ToArray();
        Values = values.ToArray();
        X = Enumerable.Range(0, columns).Select(_ => random.NextDouble() * 0.1 - 0.05).ToArray();
    }

    public int Rows { get; }
    public int Columns { get; }
    public long[] RowPointers { get; }
    public int[] ColumnIndices { get; }
    public double[] Values { get; }
    public double[] Dense { get; }
    public double[] Labels { get; }
    public double[] X { get; }
}
