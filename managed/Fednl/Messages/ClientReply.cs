using Fednl.Compression;

namespace Fednl.Messages;

/// <summary>
/// One client's answer to a <see cref="ClientRequest"/>. Which fields it fills depends on the request: a round's
/// update fills f_i, ∇f_i (FedNL-PP: Δg_i), l_i (and Δl_i) and the compressed Hessian difference S_i; an
/// initialisation fills the shift H_i⁰ (and FedNL-PP's g_i⁰ in <see cref="Gradient"/>); an evaluation f_i and
/// optionally ∇f_i. Buffers are allocated once per client and reused every exchange.
/// </summary>
public sealed class ClientReply
{
    /// <param name="clientId">The client this reply belongs to.</param>
    /// <param name="dimension">d.</param>
    /// <param name="spec">The compressor, when the reply carries round updates; null for evaluations only.</param>
    public ClientReply(int clientId, int dimension, CompressorSpec? spec)
    {
        ClientId = clientId;
        Gradient = new double[dimension];
        Difference = spec is null ? null : new CompressedMatrix(spec);
    }

    /// <param name="clientId">The client this reply belongs to.</param>
    /// <param name="spec">The compressor of the run's updates.</param>
    public ClientReply(int clientId, CompressorSpec spec) : this(clientId, spec.Dimension, spec)
    {
    }

    public int ClientId { get; }
    public int Round { get; set; }
    public double Loss { get; set; }

    /// <summary>∇f_i(x); FedNL-PP's Δg_i in a participation; g_i⁰ in a FedNL-PP initialisation.</summary>
    public double[] Gradient { get; }

    public double DifferenceNorm { get; set; }

    /// <summary>FedNL-PP: the change in l_i this round.</summary>
    public double DifferenceNormDelta { get; set; }

    /// <summary>S_i = C(M_i); null on an evaluation-only reply.</summary>
    public CompressedMatrix? Difference { get; }

    /// <summary>
    /// Initialisation: H_i⁰ over <see cref="ShiftSupport"/> (ascending packed offsets; every other entry zero), or all
    /// D entries when the support is null. Borrowed from the sender until its next exchange.
    /// </summary>
    public double[]? ShiftValues { get; set; }
    public int[]? ShiftSupport { get; set; }

    /// <summary>FeatureMax: max_j |a_jf| per feature (d values).</summary>
    public double[] FeatureMaxima => Gradient;

    /// <summary>Scale: max ‖a_j‖² of the client's scaled rows.</summary>
    public double MaxRowNormSquared { get; set; }

    /// <summary>sum += H_i⁰ (the shift of an initialisation reply).</summary>
    public void AddShiftTo(Span<double> sum)
    {
        var values = ShiftValues ?? throw new InvalidOperationException($"client {ClientId}'s reply carries no shift");
        if (ShiftSupport is null)
        {
            for (int e = 0; e < sum.Length; e++) sum[e] += values[e];
            return;
        }
        for (int t = 0; t < ShiftSupport.Length; t++) sum[ShiftSupport[t]] += values[t];
    }

    /// <summary>H_i⁰ in packed order (zero off the support).</summary>
    public void CopyShiftTo(Span<double> packed)
    {
        var values = ShiftValues ?? throw new InvalidOperationException($"client {ClientId}'s reply carries no shift");
        if (ShiftSupport is null)
        {
            values.AsSpan(0, packed.Length).CopyTo(packed);
            return;
        }
        packed.Clear();
        for (int t = 0; t < ShiftSupport.Length; t++) packed[ShiftSupport[t]] = values[t];
    }

    /// <summary>Bytes a round's update costs on the wire: gradient, f_i and l_i as FP64 plus S_i.</summary>
    public long ValueBytes => 8L * Gradient.Length + 16 + (Difference?.ValueBytes ?? 0);
    public long IndexBytes => Difference?.IndexBytes ?? 0;
}
