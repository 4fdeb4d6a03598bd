namespace Fednl.Data;

/// <summary>
/// Opt-in feature scaling: every feature is divided by its largest absolute value over all clients, so scaled
/// values lie in [−1, 1]. The divisors are one aggregate (a maximum, so its order does not matter) taken before
/// training; a model w trained on the scaled data is x = w / s in the original coordinates (aᵀx = (a / s)ᵀw).
/// A feature that is zero everywhere keeps divisor 1. λ‖w‖²/2 then penalises the scaled coefficients.
/// </summary>
public static class FeatureScaling
{
    /// <summary>max_j |a_jf| of one client's rows for every feature f (0 where a feature never occurs).</summary>
    public static double[] MaxAbs(Dataset data)
    {
        var max = new double[data.Features];
        for (long k = 0; k < data.NonZeros; k++)
        {
            int column = data.ColumnIndices[k];
            max[column] = Math.Max(max[column], Math.Abs(data.Values[k]));
        }
        return max;
    }

    /// <summary>The divisors from every client's <see cref="MaxAbs"/> (given in client order).</summary>
    public static double[] Divisors(IReadOnlyList<double[]> clientMaxima)
    {
        if (clientMaxima.Count == 0) throw new ArgumentException("no clients to scale");
        var s = new double[clientMaxima[0].Length];
        foreach (var max in clientMaxima)
        {
            if (max.Length != s.Length) throw new ArgumentException($"clients disagree on the number of features ({max.Length} and {s.Length})");
            for (int f = 0; f < s.Length; f++)
            {
                if (!(max[f] >= 0) || double.IsInfinity(max[f])) throw new ArgumentException($"feature {f}: maximum {max[f]} is not a finite non-negative number");
                s[f] = Math.Max(s[f], max[f]);
            }
        }
        for (int f = 0; f < s.Length; f++) if (s[f] == 0) s[f] = 1;
        return s;
    }

    /// <summary>The same rows with every value a_jf divided by s_f (the sparsity pattern is unchanged).</summary>
    public static Dataset Apply(Dataset data, ReadOnlySpan<double> divisors)
    {
        if (divisors.Length != data.Features) throw new ArgumentException($"{divisors.Length} divisors for {data.Features} features");
        var values = new double[data.NonZeros];
        for (long k = 0; k < values.Length; k++) values[k] = data.Values[k] / divisors[data.ColumnIndices[k]];
        return new Dataset(data.Name, data.Features, data.RowPointers, data.ColumnIndices, values, data.Labels);
    }

    /// <summary>x = w / s: a model of the scaled problem in the original coordinates.</summary>
    public static double[] ToOriginal(ReadOnlySpan<double> scaledModel, ReadOnlySpan<double> divisors)
    {
        var x = new double[scaledModel.Length];
        for (int f = 0; f < x.Length; f++) x[f] = scaledModel[f] / divisors[f];
        return x;
    }
}
