using BenchmarkDotNet.Attributes;
using Fednl.Kernels;

namespace Fednl.Benchmarks;

/// <summary>The server's Cholesky solve of (H + lI) x = g at the paper's dimensions.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class SolveBenchmarks
{
    private CholeskySolver _solver = null!;
    private double[] _packed = null!, _rhs = null!, _solution = null!;

    [Params(69, 124, 301)]
    public int Dimension { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(5);
        int n = Dimension;
        _packed = new double[PackedSymmetric.Length(n)];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                _packed[PackedSymmetric.Index(n, i, j)] = (i == j ? n : 0) + random.NextDouble() - 0.5;
        _rhs = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        _solution = new double[n];
        _solver = new CholeskySolver(n);
    }

    [Benchmark]
    public double Solve()
    {
        _solver.Solve(_packed, 1e-3, _rhs, _solution);
        return _solution[0];
    }

    [GlobalCleanup]
    public void Cleanup() => _solver.Dispose();
}
