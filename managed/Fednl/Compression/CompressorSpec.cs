namespace Fednl.Compression;

/// <summary>
/// A compressor for d x d Hessian differences: its kind, budget K = ⌊kMultiplier · d⌋, the class it belongs to
/// (unbiased with variance ω, or contractive with δ), the Hessian learning rate α it implies, and the bytes its
/// output costs on the wire (spec section 4).
/// </summary>
public sealed record CompressorSpec
{
    public CompressorSpec(CompressorKind kind, int dimension, double kMultiplier)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "dimension must be >= 1");
        if (!(kMultiplier > 0) || double.IsInfinity(kMultiplier))
            throw new ArgumentOutOfRangeException(nameof(kMultiplier), kMultiplier, "k-mult must be a positive number");
        Kind = kind;
        Dimension = dimension;
        KMultiplier = kMultiplier;
        PackedLength = (long)dimension * (dimension + 1) / 2;
        K = IsDense ? PackedLength : Math.Clamp((long)Math.Floor(kMultiplier * dimension), 1, PackedLength);
    }

    public CompressorKind Kind { get; }
    public int Dimension { get; }
    public double KMultiplier { get; }

    /// <summary>D = d(d+1)/2.</summary>
    public long PackedLength { get; }

    /// <summary>Entries kept: ⌊k-mult · d⌋ clamped to [1, D] for the sparse kinds, D for identical and natural.</summary>
    public long K { get; }

    /// <summary>Identical and natural send every entry (values only).</summary>
    public bool IsDense => Kind is CompressorKind.Identical or CompressorKind.Natural;

    /// <summary>Unbiased compressors (E C(M) = M): randk, randseqk, natural, identical.</summary>
    public bool IsUnbiased => Kind is CompressorKind.RandK or CompressorKind.RandSeqK or CompressorKind.Natural or CompressorKind.Identical;

    /// <summary>Variance bound ω of an unbiased compressor.</summary>
    public double Omega => Kind switch
    {
        CompressorKind.Identical => 0,
        CompressorKind.Natural => 1.0 / 8.0,
        CompressorKind.RandK or CompressorKind.RandSeqK => (double)PackedLength / K - 1,
        _ => double.NaN,
    };

    /// <summary>Contraction δ of a contractive compressor: K/D for topk and toplek.</summary>
    public double Delta => Kind is CompressorKind.TopK or CompressorKind.TopLEK ? (double)K / PackedLength : double.NaN;

    /// <summary>
    /// The theoretical Hessian learning rate (spec section 3): 1/(ω+1) for unbiased compressors; for contractive ones
    /// 1 − √(1−δ) under option 1 and 1 under option 2; 1 for identical.
    /// </summary>
    public double DefaultAlpha(FedNLOption option) => Kind switch
    {
        CompressorKind.Identical => 1.0,
        CompressorKind.TopK or CompressorKind.TopLEK => option == FedNLOption.Option1 ? 1 - Math.Sqrt(1 - Delta) : 1.0,
        _ => 1.0 / (Omega + 1),
    };

    /// <summary>Bytes of index data one compressed message with <paramref name="count"/> entries costs.</summary>
    public long IndexBytes(long count) => Kind switch
    {
        CompressorKind.TopK => 4 * count,
        CompressorKind.TopLEK => 4 + 4 * count,
        CompressorKind.RandSeqK => 4, // the window's start; the rest is regenerated from the shared seed
        _ => 0,                       // randk indices are regenerated from the seed; dense kinds need none
    };

    /// <summary>Bytes of value data one compressed message with <paramref name="count"/> entries costs.</summary>
    public long ValueBytes(long count) => Kind switch
    {
        CompressorKind.Natural => (12 * count + 7) / 8, // sign + 11-bit exponent per entry
        _ => 8 * count,
    };

    public override string ToString() => IsDense ? Kind.ToFlag() : $"{Kind.ToFlag()} (K = {K})";
}

/// <summary>FedNL's two step rules (spec section 3).</summary>
public enum FedNLOption
{
    /// <summary>x⁺ = x − (Hᵏ + μI)⁻¹ g with μ = λ: the cheap variant of the projection [Hᵏ]_μ.</summary>
    Option1 = 1,
    /// <summary>x⁺ = x − (Hᵏ + l I)⁻¹ g with l = mean ‖∇²f_i − H_i‖_F (the default, "FedNL(B)").</summary>
    Option2 = 2,
}
