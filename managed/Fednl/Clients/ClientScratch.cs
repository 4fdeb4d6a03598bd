using Fednl.Compression;
using Fednl.Kernels;
using Fednl.Reporting;

namespace Fednl.Clients;

/// <summary>
/// Per-worker scratch for client computations: margins, row weights, a Hessian over the longest pattern, a packed
/// matrix, the compressor's workspace and the dense oracle's workspace. One per worker thread, sized for the
/// largest of the clients it serves, allocated once.
/// </summary>
public sealed class ClientScratch : IDisposable
{
    public ClientScratch(CompressorSpec spec, IReadOnlyCollection<FedNLClient> clients)
    {
        int maxSamples = clients.Max(c => c.Samples), maxPattern = clients.Max(c => c.Plan.PatternLength);
        Margins = new double[Math.Max(1, maxSamples)];
        Weights = new double[maxSamples + 1];
        PatternHessian = new double[maxPattern];
        Packed = new double[PackedSymmetric.Length(spec.Dimension)];
        Compressor = new HessianCompressor(spec, maxPattern);
        DenseWorkspace = new double[clients.Max(c => c.DenseWorkspaceLength)];
        Vector = new double[spec.Dimension];
    }

    public double[] Margins { get; }

    /// <summary>Row weights s_j(1 − s_j)/m for the sparse plan's gathers (one more than the rows: the padding weight).</summary>
    public double[] Weights { get; }

    /// <summary>The Hessian, then M = Hessian − H_i, over a client's pattern.</summary>
    public double[] PatternHessian { get; }

    /// <summary>A packed d × d matrix: the dense oracle's Hessian, or a shift expanded for a matrix-vector product.</summary>
    public double[] Packed { get; }

    public HessianCompressor Compressor { get; }
    public double[] DenseWorkspace { get; }

    /// <summary>A d-vector for intermediate results.</summary>
    public double[] Vector { get; }

    /// <summary>Where this worker's client time went (Stopwatch ticks), summed over the rounds it ran.</summary>
    public PhaseTicks Ticks;

    public void Dispose() => Compressor.Dispose();
}
