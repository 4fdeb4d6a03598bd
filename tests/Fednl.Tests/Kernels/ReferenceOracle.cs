namespace Fednl.Tests.Kernels;

/// <summary>The logistic-regression oracle written out plainly from the spec, on dense data.</summary>
internal static class ReferenceOracle
{
    public static (double F, double[] Gradient, double[,] Hessian) Evaluate(RandomProblem p, double[] x, double lambda)
    {
        int m = p.Rows, d = p.Columns;
        double loss = 0;
        var gradient = new double[d];
        var hessian = new double[d, d];
        for (int j = 0; j < m; j++)
        {
            double t = 0;
            for (int i = 0; i < d; i++) t += p.Dense[j * d + i] * x[i];
            double z = p.Labels[j] * t;
            loss += z > 0 ? Math.Log(1 + Math.Exp(-z)) : -z + Math.Log(1 + Math.Exp(z));
            double s = 1 / (1 + Math.Exp(z));
            for (int i = 0; i < d; i++) gradient[i] -= s * p.Labels[j] * p.Dense[j * d + i] / m;
            for (int r = 0; r < d; r++)
            {
                double ar = p.Dense[j * d + r];
                if (ar == 0) continue;
                for (int c = 0; c < d; c++) hessian[r, c] += s * (1 - s) * ar * p.Dense[j * d + c] / m;
            }
        }
        double normSquared = 0;
        for (int i = 0; i < d; i++)
        {
            normSquared += x[i] * x[i];
            gradient[i] += lambda * x[i];
            hessian[i, i] += lambda;
        }
        return ((m > 0 ? loss / m : 0) + lambda / 2 * normSquared, gradient, hessian);
    }
}
