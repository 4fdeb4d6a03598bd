using Fednl.Algorithms;

namespace Fednl.Data;

/// <summary>
/// Deterministic sparse logistic-regression data with a planted model: each row has about density·d non-zeros at
/// distinct random columns with values in [−1, 1], and its label is +1 with probability σ(w·a) for a fixed planted
/// w, so the classes overlap and the problem has a finite optimum. The built-in default dataset of `fednl train`.
/// </summary>
public static class SyntheticDataset
{
    public const int DefaultSamples = 4000, DefaultFeatures = 60;
    public const double DefaultDensity = 0.2;
    public const ulong DefaultSeed = 123;

    /// <summary>The built-in default dataset (4,000 samples, 60 features, 20 % dense, seed 123).</summary>
    public static Dataset Default(bool addIntercept)
    {
        var data = Generate(DefaultSamples, DefaultFeatures, DefaultDensity, DefaultSeed);
        return addIntercept ? data.WithIntercept() : data;
    }

    /// <summary>Name of the dense d = 500 bench shape (<see cref="Dense500"/>).</summary>
    public const string Dense500Name = "dense500";

    /// <summary>Clients the dense500 shape is split into (12 samples each).</summary>
    public const int Dense500Clients = 50;

    /// <summary>
    /// The built-in datasets that need no file, by name (null for any other name): <see cref="Dense500Name"/>.
    /// </summary>
    public static Dataset? Named(string name) => name == Dense500Name ? Dense500() : null;

    /// <summary>
    /// The dense d ≈ 500 shape: 600 samples, 500 dense features of magnitude 10²–10³ (log-uniform, random
    /// sign), labels +1 with probability σ(w·a / s) for a planted w, s scaling the margins to order one; seed 500.
    /// Split into <see cref="Dense500Clients"/> clients of 12 samples. Every row has all 500 non-zeros.
    /// </summary>
    public static Dataset Dense500() => GenerateDense(600, 500, 100, 1000, 500);

    /// <summary>
    /// Dense rows (every feature non-zero) with |a_ji| log-uniform in [low, high] and a random sign, and labels drawn
    /// from a planted model whose margins are scaled to order one.
    /// </summary>
    public static Dataset GenerateDense(int samples, int features, double low, double high, ulong seed)
    {
        if (samples < 1 || features < 1) throw new ArgumentException($"need samples >= 1 and features >= 1, got {samples} and {features}");
        if (!(low > 0 && high >= low && double.IsFinite(high))) throw new ArgumentException($"need 0 < low <= high, got {low} and {high}");
        var random = new SplitMix64(seed);
        double Uniform() => (random.Next() >> 11) * (1.0 / (1UL << 53));
        var planted = new double[features];
        for (int i = 0; i < features; i++) planted[i] = 2 * Uniform() - 1;
        double scale = Math.Sqrt(features) * Math.Sqrt(low * high);
        var rowPointers = new long[samples + 1];
        var indices = new int[(long)samples * features];
        var values = new double[(long)samples * features];
        var labels = new double[samples];
        double logLow = Math.Log(low), logSpan = Math.Log(high) - Math.Log(low);
        for (int j = 0; j < samples; j++)
        {
            double margin = 0;
            for (int i = 0; i < features; i++)
            {
                double magnitude = Math.Exp(logLow + logSpan * Uniform());
                double v = Uniform() < 0.5 ? -magnitude : magnitude;
                long at = (long)j * features + i;
                indices[at] = i;
                values[at] = v;
                margin += v * planted[i];
            }
            rowPointers[j + 1] = (long)(j + 1) * features;
            labels[j] = Uniform() < 1 / (1 + Math.Exp(-margin / scale)) ? 1.0 : -1.0;
        }
        return new Dataset($"dense(N={samples}, d={features}, |a| in [{low}, {high}], seed={seed})", features, rowPointers,
            indices, values, labels);
    }

    public static Dataset Generate(int samples, int features, double density, ulong seed)
    {
        if (samples < 1 || features < 1) throw new ArgumentException($"need samples >= 1 and features >= 1, got {samples} and {features}");
        if (!(density > 0 && density <= 1)) throw new ArgumentException($"density must be in (0, 1], got {density}");
        var random = new SplitMix64(seed);
        double Uniform() => (random.Next() >> 11) * (1.0 / (1UL << 53));

        var planted = new double[features];
        for (int i = 0; i < features; i++) planted[i] = 4 * (Uniform() - 0.5);

        var rowPointers = new long[samples + 1];
        var indices = new List<int>();
        var values = new List<double>();
        var labels = new double[samples];
        for (int j = 0; j < samples; j++)
        {
            double margin = 0;
            for (int i = 0; i < features; i++)
            {
                if (Uniform() >= density) continue;
                double v = 2 * Uniform() - 1;
                indices.Add(i);
                values.Add(v);
                margin += v * planted[i];
            }
            rowPointers[j + 1] = indices.Count;
            labels[j] = Uniform() < 1 / (1 + Math.Exp(-margin)) ? 1.0 : -1.0;
        }
        return new Dataset($"synthetic(N={samples}, d={features}, density={density}, seed={seed})", features, rowPointers,
            indices.ToArray(), values.ToArray(), labels);
    }
}
