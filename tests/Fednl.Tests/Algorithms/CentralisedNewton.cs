using Fednl.Data;

namespace Fednl.Tests.Algorithms;

/// <summary>
/// An independent reference optimum: Newton's method with backtracking on the whole (kept) data set, written in
/// plain C# from the spec's formulas, with its own dense Cholesky. Shares no code with the library's kernels.
/// Clients are weighted like the library's f: f = (1/n) Σ_i f_i with f_i the mean over client i's samples.
/// </summary>
internal static class CentralisedNewton
{
    public static (double F, double[] X, double GradientNorm) Solve(IReadOnlyList<Dataset> clients, double lambda, int maxIterations = 100)
    {
        int d = clients[0].Features;
        var x = new double[d];
        double f = Evaluate(clients, lambda, x, out var g, out var h);
        for (int it = 0; it < maxIterations && Norm(g) > 1e-14; it++)
        {
            var step = CholeskySolve(h, g, d);
            double slope = 0;
            for (int i = 0; i < d; i++) slope -= g[i] * step[i];
            double t = 1;
            var trial = new double[d];
            double ft;
            while (true)
            {
                for (int i = 0; i < d; i++) trial[i] = x[i] - t * step[i];
                ft = Evaluate(clients, lambda, trial, out _, out _, hessian: false);
                if (ft <= f + 1e-4 * t * slope || t < 1e-10) break;
                t /= 2;
            }
            x = trial;
            f = Evaluate(clients, lambda, x, out g, out h);
        }
        return (f, x, Norm(g));
    }

    public static double Evaluate(IReadOnlyList<Dataset> clients, double lambda, double[] x, out double[] gradient,
        out double[,] hessianMatrix, bool hessian = true)
    {
        int d = x.Length, n = clients.Count;
        gradient = new double[d];
        hessianMatrix = new double[d, d];
        double f = 0;
        foreach (var c in clients)
        {
            double fi = 0;
            var gi = new double[d];
            for (int j = 0; j < c.Samples; j++)
            {
                long begin = c.RowPointers[j], end = c.RowPointers[j + 1];
                double t = 0;
                for (long k = begin; k < end; k++) t += c.Values[k] * x[c.ColumnIndices[k]];
                double z = c.Labels[j] * t;
                fi += z > 0 ? Math.Log(1 + Math.Exp(-z)) : -z + Math.Log(1 + Math.Exp(z));
                double s = 1 / (1 + Math.Exp(z));
                for (long k = begin; k < end; k++) gi[c.ColumnIndices[k]] -= s * c.Labels[j] * c.Values[k];
                if (!hessian) continue;
                double w = s * (1 - s) / c.Samples / n;
                for (long p = begin; p < end; p++)
                    for (long q = begin; q < end; q++)
                        hessianMatrix[c.ColumnIndices[p], c.ColumnIndices[q]] += w * c.Values[p] * c.Values[q];
            }
            f += fi / c.Samples / n;
            for (int i = 0; i < d; i++) gradient[i] += gi[i] / c.Samples / n;
        }
        double norm2 = 0;
        for (int i = 0; i < d; i++)
        {
            norm2 += x[i] * x[i];
            gradient[i] += lambda * x[i];
            hessianMatrix[i, i] += lambda;
        }
        return f + lambda / 2 * norm2;
    }

    private static double[] CholeskySolve(double[,] a, double[] b, int n)
    {
        var l = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            double s = a[j, j];
            for (int k = 0; k < j; k++) s -= l[j, k] * l[j, k];
            if (s <= 0) throw new InvalidOperationException("reference Hessian is not positive definite");
            l[j, j] = Math.Sqrt(s);
            for (int i = j + 1; i < n; i++)
            {
                double t = a[i, j];
                for (int k = 0; k < j; k++) t -= l[i, k] * l[j, k];
                l[i, j] = t / l[j, j];
            }
        }
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double t = b[i];
            for (int k = 0; k < i; k++) t -= l[i, k] * y[k];
            y[i] = t / l[i, i];
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double t = y[i];
            for (int k = i + 1; k < n; k++) t -= l[k, i] * x[k];
            x[i] = t / l[i, i];
        }
        return x;
    }

    public static double Norm(double[] v) => Math.Sqrt(v.Sum(e => e * e));
}
