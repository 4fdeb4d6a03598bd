namespace Fednl.Compression;

/// <summary>
/// A compressor for d x d Hessian differences: its kind, budget K = ⌊kMultiplier · d⌋, the class it belongs to
/// (unbiased with variance ω, or contractive with δ), the Hessian learning rate α it implies, and the bytes its
/// output costs on the wire (spec section 4). PermK splits the D entries among the run's clients, so its spec also
/// holds the client count n (its K is ⌈D/n⌉, the longest block; k-mult does not apply).
/// </summary>
public sealed record CompressorSpec
{
    /// <param name="kind">The compressor.</param>
    /// <param name="dimension">d.</param>
    /// <param name="kMultiplier">K = ⌊kMultiplier · d⌋ for topk, toplek, randk and randseqk.</param>
    /// <param name="clients">The run's client count n: required by permk (1 ≤ n ≤ D), ignored by the other kinds.</param>
    public CompressorSpec(CompressorKind kind, int dimension, double kMultiplier, int clients = 0)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "dimension must be >= 1");
        if (!(kMultiplier > 0) || double.IsInfinity(kMultiplier))
            throw new ArgumentOutOfRangeException(nameof(kMultiplier), kMultiplier, "k-mult must be a positive number");
        Kind = kind;
        Dimension = dimension;
        KMultiplier = kMultiplier;
        PackedLength = (long)dimension * (dimension + 1) / 2;
        if (kind == CompressorKind.PermK)
        {
            if (clients < 1)
                throw new ArgumentOutOfRangeException(nameof(clients), clients, "permk splits the Hessian among the clients: the client count must be >= 1");
            if (clients > PackedLength)
                throw new ArgumentException($"permk splits the D = d(d+1)/2 = {PackedLength} packed Hessian entries (d = {dimension}) " +
                                            $"into one block per client and needs D >= n, but there are n = {clients} clients");
            Clients = clients;
        }
        K = kind switch
        {
            CompressorKind.Identical or CompressorKind.Natural => PackedLength,
            CompressorKind.PermK => (PackedLength + clients - 1) / clients,
            _ => Math.Clamp((long)Math.Floor(kMultiplier * dimension), 1, PackedLength),
        };
    }

    public CompressorKind Kind { get; }
    public int Dimension { get; }
    public double KMultiplier { get; }

    /// <summary>PermK's client count n (0 for the other kinds).</summary>
    public int Clients { get; }

    /// <summary>D = d(d+1)/2.</summary>
    public long PackedLength { get; }

    /// <summary>
    /// Entries kept: ⌊k-mult · d⌋ clamped to [1, D] for topk, toplek (at most), randk and randseqk; D for identical and
    /// natural; for permk at most ⌈D/n⌉ (a client's block has ⌊D/n⌋ entries or one more).
    /// </summary>
    public long K { get; }

    /// <summary>Identical and natural send every entry (values only).</summary>
    public bool IsDense => Kind is CompressorKind.Identical or CompressorKind.Natural;

    /// <summary>Unbiased compressors (E C(M) = M): randk, randseqk, natural, identical, permk.</summary>
    public bool IsUnbiased => Kind is CompressorKind.RandK or CompressorKind.RandSeqK or CompressorKind.Natural or CompressorKind.Identical
        or CompressorKind.PermK;

    /// <summary>Variance bound ω of an unbiased compressor (permk: each entry is kept w.p. 1/n, scaled by n).</summary>
    public double Omega => Kind switch
    {
        CompressorKind.Identical => 0,
        CompressorKind.Natural => 1.0 / 8.0,
        CompressorKind.RandK or CompressorKind.RandSeqK => (double)PackedLength / K - 1,
        CompressorKind.PermK => Clients - 1,
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
        _ => 0,                       // randk and permk indices are regenerated from the seed; dense kinds need none
    };

    /// <summary>Bytes of value data one compressed message with <paramref name="count"/> entries costs.</summary>
    public long ValueBytes(long count) => Kind switch
    {
        CompressorKind.Natural => (12 * count + 7) / 8, // sign + 11-bit exponent per entry
        _ => 8 * count,
    };

    public override string ToString() => Kind switch
    {
        CompressorKind.Identical or CompressorKind.Natural => Kind.ToFlag(),
        CompressorKind.PermK => $"permk (n = {Clients} blocks of {(PackedLength % Clients == 0 ? $"{K}" : $"{K - 1} or {K}")} entries)",
        _ => $"{Kind.ToFlag()} (K = {K})",
    };
}

/// <summary>FedNL's two step rules (spec section 3).</summary>
public enum FedNLOption
{
    /// <summary>x⁺ = x − (Hᵏ + μI)⁻¹ g with μ = λ: the cheap variant of the projection [Hᵏ]_μ.</summary>
    Option1 = 1,
    /// <summary>x⁺ = x − (Hᵏ + l I)⁻¹ g with l = mean ‖∇²f_i − H_i‖_F (the default, "FedNL(B)").</summary>
    Option2 = 2,
}
