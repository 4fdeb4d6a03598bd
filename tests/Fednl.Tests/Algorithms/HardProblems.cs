using Fednl.Algorithms;
using Fednl.Data;

namespace Fednl.Tests.Algorithms;

/// <summary>
/// Generated data of the two shapes FedNL finds hard from x⁰ = 0 (deterministic for a seed):
/// unscaled dense features of very different magnitudes, and near-separable dense data with more features than
/// samples per client.
/// </summary>
internal static class HardProblems
{
    /// <summary>
    /// 460 samples, 14 features whose magnitudes range from 1 to 10⁵ (binary flags, counts, amounts), labels from a
    /// noisy planted model on the standardised features; with the intercept d = 15. Split into 23 clients of 20.
    /// </summary>
    public static Dataset Unscaled(ulong seed = 7)
    {
        const int samples = 460, features = 14;
        var random = new SplitMix64(seed);
        double Uniform() => (random.Next() >> 11) * (1.0 / (1UL << 53));
        double[] magnitude = [1, 1, 10, 100, 1e5, 1, 1e3, 20, 1, 1e4, 5, 1, 300, 1e5];
        var planted = new double[features];
        for (int i = 0; i < features; i++) planted[i] = 3 * (Uniform() - 0.5);
        var rowPointers = new long[samples + 1];
        var indices = new List<int>();
        var values = new List<double>();
        var labels = new double[samples];
        for (int j = 0; j < samples; j++)
        {
            double margin = 0;
            for (int i = 0; i < features; i++)
            {
                double u = Uniform();
                // flags are 0/1, small magnitudes are counts, large ones are skewed amounts
                double v = magnitude[i] == 1 ? (u < 0.4 ? 1 : 0)
                    : magnitude[i] < 100 ? Math.Floor(u * magnitude[i])
                    : Math.Round(magnitude[i] * u * u * u);
                margin += planted[i] * (v / magnitude[i] - 0.3);
                if (v == 0) continue;
                indices.Add(i);
                values.Add(v);
            }
            rowPointers[j + 1] = indices.Count;
            labels[j] = Uniform() < 1 / (1 + Math.Exp(-3 * margin)) ? 1.0 : -1.0;
        }
        return new Dataset($"unscaled(seed={seed})", features, rowPointers, indices.ToArray(), values.ToArray(), labels).WithIntercept();
    }

    /// <summary>
    /// 600 samples × 500 dense features in [−1, 1], labels the sign of a planted model with 3 % flipped: with more
    /// features than samples the classes are (almost surely) separable, so only λ keeps the optimum finite.
    /// 50 clients of 12 samples each.
    /// </summary>
    public static Dataset NearSeparable(ulong seed = 11, int samples = 600, int features = 500)
    {
        var random = new SplitMix64(seed);
        double Uniform() => (random.Next() >> 11) * (1.0 / (1UL << 53));
        var planted = new double[features];
        for (int i = 0; i < features; i++) planted[i] = 2 * Uniform() - 1;
        var rowPointers = new long[samples + 1];
        var indices = new int[samples * features];
        var values = new double[samples * features];
        var labels = new double[samples];
        for (int j = 0; j < samples; j++)
        {
            double margin = 0;
            for (int i = 0; i < features; i++)
            {
                double v = 2 * Uniform() - 1;
                indices[j * features + i] = i;
                values[j * features + i] = v;
                margin += v * planted[i];
            }
            rowPointers[j + 1] = (j + 1) * features;
            labels[j] = (margin >= 0 ? 1.0 : -1.0) * (Uniform() < 0.03 ? -1 : 1);
        }
        return new Dataset($"near-separable(seed={seed})", features, rowPointers, indices, values, labels);
    }

    public const int UnscaledClients = 23, NearSeparableClients = 50;

    /// <summary>Writes a dataset as LIBSVM text (1-based indices; the intercept column, if any, included).</summary>
    public static void WriteLibSvm(Dataset data, string path)
    {
        using var writer = new StreamWriter(path);
        var c = System.Globalization.CultureInfo.InvariantCulture;
        for (int j = 0; j < data.Samples; j++)
        {
            writer.Write(data.Labels[j] > 0 ? "+1" : "-1");
            var idx = data.RowIndices(j);
            var val = data.RowValues(j);
            for (int k = 0; k < idx.Length; k++) writer.Write($" {idx[k] + 1}:{val[k].ToString("R", c)}");
            writer.WriteLine();
        }
    }
}
