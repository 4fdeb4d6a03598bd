using BenchmarkDotNet.Attributes;
using Fednl.Compression;
using Fednl.Kernels;

namespace Fednl.Benchmarks;

/// <summary>
/// Each compressor on a w8a-sized packed matrix (d = 301, D = 45,451, K = 8d), and the client's shift step over a
/// w8a-shaped Hessian pattern (M = H − H_i, ‖M‖, S = C(M), H_i += αS), which is what training runs.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class CompressorBenchmarks
{
    private HessianCompressor _compressor = null!;
    private CompressedMatrix _output = null!;
    private double[] _matrix = null!, _hessian = null!, _difference = null!, _shift = null!;
    private HessianPlan _plan = null!;
    private ulong _seed;

    [Params(CompressorKind.Identical, CompressorKind.TopK, CompressorKind.TopLEK, CompressorKind.RandK,
        CompressorKind.RandSeqK, CompressorKind.Natural)]
    public CompressorKind Kind { get; set; }

    [ParamsSource(nameof(Variants))]
    public KernelVariant Variant { get; set; }

    /// <summary>The vector variants this CPU and build can run.</summary>
    public static IEnumerable<KernelVariant> Variants => KernelVariants.Available(reference: false);

    [GlobalSetup]
    public void Setup()
    {
        KernelSettings.Use(Variant);
        var spec = new CompressorSpec(Kind, 301, 8);
        _compressor = new HessianCompressor(spec);
        _output = new CompressedMatrix(spec);
        var random = new Random(3);
        _matrix = Enumerable.Range(0, (int)spec.PackedLength).Select(_ => random.NextDouble() - 0.5).ToArray();

        var client = new ClientProblem(350, 301, 0.039, 1);
        _plan = HessianPlan.Build(new CsrSpan(client.RowPointers, client.ColumnIndices, client.Values, 301), dense: false);
        _hessian = Enumerable.Range(0, _plan.PatternLength).Select(_ => random.NextDouble()).ToArray();
        _difference = new double[_plan.PatternLength];
        _shift = _hessian.Select(h => h + 0.01 * (random.NextDouble() - 0.5)).ToArray();
        _patternCompressor = new HessianCompressor(spec, _plan.PatternLength);
    }

    private HessianCompressor _patternCompressor = null!;

    [Benchmark]
    public double PatternStep()
    {
        _hessian.CopyTo(_difference, 0);
        return _patternCompressor.PatternStep(_plan, _difference, _shift, 0.05, _seed++, _output, remaining: false, out _);
    }

    [Benchmark]
    public int Compress()
    {
        _compressor.Compress(_matrix, _seed++, _output);
        return _output.Count;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _compressor.Dispose();
        _patternCompressor.Dispose();
    }
}
