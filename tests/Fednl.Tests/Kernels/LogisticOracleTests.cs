using Fednl.Interop;
using Fednl.Kernels;

namespace Fednl.Tests.Kernels;

[TestFixture(KernelVariant.Reference)]
[TestFixture(KernelVariant.Avx2)]
[TestFixture(KernelVariant.Avx512)]
[NonParallelizable]
public sealed class LogisticOracleTests(KernelVariant variant)
{
    private const double Lambda = 1e-3;

    [OneTimeSetUp]
    public void SelectVariant()
    {
        if (!KernelSettings.IsAvailable(variant))
            Assert.Ignore($"this CPU or build cannot run the {variant} variant");
        KernelSettings.Use(variant);
        Assert.That(KernelSettings.Active, Is.EqualTo(variant));
    }

    [OneTimeTearDown]
    public void RestoreVariant() => KernelSettings.Use(KernelVariant.Auto);

    [TestCase(1), TestCase(2), TestCase(3), TestCase(7), TestCase(16), TestCase(31), TestCase(64), TestCase(127),
     TestCase(200), TestCase(301), TestCase(400)]
    public void Sparse_oracle_matches_the_plain_reference(int d)
    {
        var p = RandomProblem.Create(rows: 40, columns: d, density: Math.Min(1.0, 12.0 / d + 0.02), seed: d);
        var margins = new double[p.Rows];
        var gradient = new double[d];
        var hessian = new double[PackedSymmetric.Length(d)];

        double f = LogisticOracle.EvaluateSparse(p.Csr, p.Labels, p.X, Lambda, margins, gradient, hessian);

        var (refF, refGradient, refHessian) = ReferenceOracle.Evaluate(p, p.X, Lambda);
        Assert.That(f, Is.EqualTo(refF).Within(1e-12).Percent);
        for (int i = 0; i < d; i++)
            Assert.That(gradient[i], Is.EqualTo(refGradient[i]).Within(1e-15 + 1e-12 * Math.Abs(refGradient[i])), $"gradient[{i}]");
        for (int r = 0; r < d; r++)
            for (int c = r; c < d; c++)
                Assert.That(hessian[PackedSymmetric.Index(d, r, c)],
                    Is.EqualTo(refHessian[r, c]).Within(1e-15 + 1e-12 * Math.Abs(refHessian[r, c])), $"H[{r},{c}]");
        for (int j = 0; j < p.Rows; j++)
        {
            double t = 0;
            for (int i = 0; i < d; i++) t += p.Dense[j * d + i] * p.X[i];
            Assert.That(margins[j], Is.EqualTo(p.Labels[j] * t).Within(1e-13), $"margin {j}");
        }
    }

    [TestCase(1), TestCase(5), TestCase(33), TestCase(120)]
    public void Dense_oracle_matches_the_sparse_one(int d)
    {
        var p = RandomProblem.Create(rows: 37, columns: d, density: 0.5, seed: 1000 + d);
        var (ms, gs, hs) = (new double[p.Rows], new double[d], new double[PackedSymmetric.Length(d)]);
        var (md, gd, hd) = (new double[p.Rows], new double[d], new double[PackedSymmetric.Length(d)]);
        var work = new double[LogisticOracle.DenseWorkspaceLength(p.Rows, d)];

        double fs = LogisticOracle.EvaluateSparse(p.Csr, p.Labels, p.X, Lambda, ms, gs, hs);
        double fd = LogisticOracle.EvaluateDense(p.Dense, p.Rows, d, p.Labels, p.X, Lambda, md, gd, hd, work);

        Assert.That(fd, Is.EqualTo(fs).Within(1e-14));
        Assert.That(gd, Is.EqualTo(gs).Within(1e-15));
        Assert.That(hd, Is.EqualTo(hs).Within(1e-15));
    }

    [Test]
    public void Gradient_and_Hessian_match_finite_differences()
    {
        const int d = 11;
        const double h = 1e-6;
        var p = RandomProblem.Create(rows: 80, columns: d, density: 0.5, seed: 77);
        var margins = new double[p.Rows];
        var gradient = new double[d];
        var hessian = new double[PackedSymmetric.Length(d)];
        LogisticOracle.EvaluateSparse(p.Csr, p.Labels, p.X, Lambda, margins, gradient, hessian);

        for (int c = 0; c < d; c++)
        {
            var up = (double[])p.X.Clone();
            var down = (double[])p.X.Clone();
            up[c] += h;
            down[c] -= h;
            var gUp = new double[d];
            var gDown = new double[d];
            double fUp = LogisticOracle.EvaluateSparse(p.Csr, p.Labels, up, Lambda, margins, gUp);
            double fDown = LogisticOracle.EvaluateSparse(p.Csr, p.Labels, down, Lambda, margins, gDown);
            Assert.That(gradient[c], Is.EqualTo((fUp - fDown) / (2 * h)).Within(1e-8), $"df/dx{c}");
            for (int r = 0; r < d; r++)
                Assert.That(hessian[PackedSymmetric.Index(d, r, c)], Is.EqualTo((gUp[r] - gDown[r]) / (2 * h)).Within(1e-8), $"H[{r},{c}]");
        }
    }

    [Test]
    public void A_client_without_samples_keeps_only_the_regulariser()
    {
        double[] x = [1, -2, 0.5];
        var gradient = new double[3];
        var hessian = new double[6];
        double f = LogisticOracle.EvaluateSparse(new CsrSpan([0L], [], [], 3), [], x, 0.5, [], gradient, hessian);
        Assert.That(f, Is.EqualTo(0.25 * 5.25).Within(1e-15));
        Assert.That(gradient, Is.EqualTo(new[] { 0.5, -1.0, 0.25 }));
        Assert.That(hessian, Is.EqualTo(new[] { 0.5, 0, 0, 0.5, 0, 0.5 }));
    }

    [Test]
    public void Shape_errors_say_what_is_wrong()
    {
        var p = RandomProblem.Create(rows: 4, columns: 3, density: 0.5, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() =>
            LogisticOracle.EvaluateSparse(p.Csr, p.Labels, new double[2], Lambda, new double[4]));
        Assert.That(ex!.Message, Does.Contain("x has 2 entries"));
        Assert.Throws<ArgumentException>(() => new CsrSpan([0L, 5L], [0, 1], [1.0, 2.0], 3));
    }

    [Test]
    public void Rows_written_out_densely_are_the_problem_s_dense_copy()
    {
        var p = RandomProblem.Create(rows: 77, columns: 69, density: 0.44, seed: 3);
        var dense = Enumerable.Repeat(-7.0, p.Dense.Length + 1).ToArray(); // stale values are overwritten
        p.Csr.ToDense(dense);
        Assert.That(dense[..^1], Is.EqualTo(p.Dense));
        Assert.That(dense[^1], Is.EqualTo(-7.0));
        var ex = Assert.Throws<FednlNativeException>(() => p.Csr.ToDense(new double[p.Dense.Length - 1]));
        Assert.That(ex!.Message, Does.Contain("out_length"));
    }

    [Test]
    public void A_native_failure_arrives_as_an_exception_with_the_native_message()
    {
        var p = RandomProblem.Create(rows: 4, columns: 3, density: 0.5, seed: 1);
        var ex = Assert.Throws<FednlNativeException>(() =>
            LogisticOracle.EvaluateSparse(p.Csr, p.Labels, p.X, -1.0, new double[4]));
        Assert.That(ex!.Status, Is.EqualTo(FednlStatus.ErrInvalidArgument));
        Assert.That(ex.Message, Does.Contain("lambda must be finite and >= 0"));
    }
}
