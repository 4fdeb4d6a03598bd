using BenchmarkDotNet.Attributes;
using Fednl.Compression;
using Fednl.Kernels;

namespace Fednl.Benchmarks;

/// <summary>Each compressor on a w8a-sized packed matrix (d = 301, D = 45,451, K = 8d).</summary>
[MemoryDiagnoser]
[MedianColumn]
public class CompressorBenchmarks
{
    private HessianCompressor _compressor = null!;
    private CompressedMatrix _output = null!;
    private double[] _matrix = null!;
    private ulong _seed;

    [Params(CompressorKind.Identical, CompressorKind.TopK, CompressorKind.TopLEK, CompressorKind.RandK,
        CompressorKind.RandSeqK, CompressorKind.Natural)]
    public CompressorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var spec = new CompressorSpec(Kind, 301, 8);
        _compressor = new HessianCompressor(spec);
        _output = new CompressedMatrix(spec);
        var random = new Random(3);
        _matrix = Enumerable.Range(0, (int)spec.PackedLength).Select(_ => random.NextDouble() - 0.5).ToArray();
    }

    [Benchmark]
    public int Compress()
    {
        _compressor.Compress(_matrix, _seed++, _output);
        return _output.Count;
    }

    [GlobalCleanup]
    public void Cleanup() => _compressor.Dispose();
}
