using Fednl.Interop;
using Fednl.Kernels;

namespace Fednl.Tests.Kernels;

public sealed class CholeskySolverTests
{
    private static double[] RandomSpd(int n, int seed)
    {
        var random = new Random(seed);
        var b = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) b[i, j] = random.NextDouble() * 2 - 1;
        var packed = new double[PackedSymmetric.Length(n)];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += b[i, k] * b[j, k];
                packed[PackedSymmetric.Index(n, i, j)] = s / n + (i == j ? 1e-2 : 0);
            }
        return packed;
    }

    [TestCase(1), TestCase(2), TestCase(3), TestCase(10), TestCase(69), TestCase(124), TestCase(301), TestCase(400)]
    public void Residual_is_small_relative_to_the_right_hand_side(int n)
    {
        var packed = RandomSpd(n, n);
        var random = new Random(7);
        var g = Enumerable.Range(0, n).Select(_ => random.NextDouble() - 0.5).ToArray();
        var x = new double[n];
        const double shift = 1e-3;
        using var solver = new CholeskySolver(n);
        solver.Solve(packed, shift, g, x);

        double residual = 0, norm = 0;
        for (int i = 0; i < n; i++)
        {
            double r = shift * x[i] - g[i];
            for (int j = 0; j < n; j++) r += packed[PackedSymmetric.Index(n, i, j)] * x[j];
            residual += r * r;
            norm += g[i] * g[i];
        }
        Assert.That(Math.Sqrt(residual), Is.LessThanOrEqualTo(1e-11 * Math.Sqrt(norm)));
    }

    [Test]
    public void Not_positive_definite_is_reported_and_the_solution_is_untouched()
    {
        double[] packed = [1, 2, 1]; // eigenvalues 3 and -1
        double[] x = [42, 43];
        using var solver = new CholeskySolver(2);
        var ex = Assert.Throws<FednlNativeException>(() => solver.Solve(packed, 0.0, [1.0, 1.0], x));
        Assert.That(ex!.Status, Is.EqualTo(FednlStatus.ErrNotPositiveDefinite));
        Assert.That(ex.Message, Does.Contain("not positive definite"));
        Assert.That(x, Is.EqualTo(new double[] { 42, 43 }));
        Assert.That(solver.TrySolve(packed, 0.0, [1.0, 1.0], x, out var status), Is.False);
        Assert.That(status, Is.EqualTo(FednlStatus.ErrNotPositiveDefinite));
        Assert.That(solver.TrySolve(packed, 1.5, [1.0, 1.0], x, out _), Is.True);
        Assert.That(x[0], Is.EqualTo(1 / 4.5).Within(1e-15));
    }
}
