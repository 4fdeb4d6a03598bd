using BenchmarkDotNet.Attributes;
using Fednl.Kernels;

namespace Fednl.Benchmarks;

/// <summary>
/// One client's oracle with Hessian, three ways: the client's Hessian plan (gathers over its pattern, what training
/// uses), sparse rank-1 accumulation into the packed triangle, and the dense OpenBLAS path; and the oracle alone.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HessianBenchmarks
{
    private ClientProblem _p = null!;
    private double[] _margins = null!, _gradient = null!, _hessian = null!, _work = null!, _weights = null!, _pattern = null!;
    private HessianPlan _plan = null!;

    [Params(0.039, 0.11, 0.44)]
    public double Density { get; set; }

    [ParamsSource(nameof(Variants))]
    public KernelVariant Variant { get; set; }

    /// <summary>Every variant this CPU and build can run.</summary>
    public static IEnumerable<KernelVariant> Variants => KernelVariants.Available(reference: true);

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.Use(Variant);
        _p = new ClientProblem(350, 301, Density, 1);
        _margins = new double[_p.Rows];
        _gradient = new double[_p.Columns];
        _hessian = new double[PackedSymmetric.Length(_p.Columns)];
        _work = new double[LogisticOracle.DenseWorkspaceLength(_p.Rows, _p.Columns)];
        _plan = HessianPlan.Build(Csr, dense: false);
        _weights = new double[_p.Rows + 1];
        _pattern = new double[_plan.PatternLength];
    }

    private CsrSpan Csr => new(_p.RowPointers, _p.ColumnIndices, _p.Values, _p.Columns);

    /// <summary>The oracle alone as training calls it: f, gradient and the row weights the plan gathers.</summary>
    [Benchmark]
    public double Oracle() => LogisticOracle.EvaluateSparse(Csr, _p.Labels, _p.X, 1e-3, _margins, _gradient, default, _weights);

    [Benchmark]
    public double PatternPlan()
    {
        double f = LogisticOracle.EvaluateSparse(Csr, _p.Labels, _p.X, 1e-3, _margins, _gradient, default, _weights);
        _plan.Hessian(_weights, 1e-3, default, _pattern);
        return f;
    }

    [Benchmark(Baseline = true)]
    public double SparseRankOne() => LogisticOracle.EvaluateSparse(
        new CsrSpan(_p.RowPointers, _p.ColumnIndices, _p.Values, _p.Columns), _p.Labels, _p.X, 1e-3, _margins, _gradient, _hessian);

    [Benchmark]
    public double DenseOpenBlas() => LogisticOracle.EvaluateDense(
        _p.Dense, _p.Rows, _p.Columns, _p.Labels, _p.X, 1e-3, _margins, _gradient, _hessian, _work);
}
