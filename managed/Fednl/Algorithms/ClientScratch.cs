using Fednl.Compression;
using Fednl.Kernels;

namespace Fednl.Algorithms;

/// <summary>
/// Per-worker scratch for client computations: margins, a packed Hessian, the compressor's workspace and the
/// dense oracle's workspace. One per worker thread, sized for the largest client, allocated once.
/// </summary>
public sealed class ClientScratch : IDisposable
{
    public ClientScratch(int dimension, int maxSamples, CompressorSpec spec, long denseWorkspace)
    {
        Margins = new double[Math.Max(1, maxSamples)];
        Hessian = new double[PackedSymmetric.Length(dimension)];
        Compressor = new HessianCompressor(spec);
        DenseWorkspace = new double[denseWorkspace];
        Vector = new double[dimension];
    }

    public double[] Margins { get; }
    public double[] Hessian { get; }
    public HessianCompressor Compressor { get; }
    public double[] DenseWorkspace { get; }
    /// <summary>A d-vector for intermediate results.</summary>
    public double[] Vector { get; }

    public void Dispose() => Compressor.Dispose();
}
