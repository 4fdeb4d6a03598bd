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
