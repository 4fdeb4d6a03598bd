using Fednl.Compression;

namespace Fednl.Algorithms;

/// <summary>
/// What one client sends the server in a FedNL round: f_i(x), ∇f_i(x), l_i = ‖∇²f_i(x) − H_i‖_F and the compressed
/// Hessian difference S_i. Buffers are allocated once per client and reused every round.
/// </summary>
public sealed class ClientUpdate
{
    public ClientUpdate(int clientId, CompressorSpec spec)
    {
        ClientId = clientId;
        Gradient = new double[spec.Dimension];
        Difference = new CompressedMatrix(spec);
    }

    public int ClientId { get; }
    public int Round { get; set; }
    public double Loss { get; set; }
    public double[] Gradient { get; }
    public double DifferenceNorm { get; set; }
    public CompressedMatrix Difference { get; }

    /// <summary>FedNL-PP: the change in l_i this round.</summary>
    public double DifferenceNormDelta { get; set; }

    /// <summary>Bytes this message costs on the wire: gradient, f_i and l_i as FP64 plus S_i.</summary>
    public long ValueBytes => 8L * Gradient.Length + 16 + Difference.ValueBytes;
    public long IndexBytes => Difference.IndexBytes;
}
