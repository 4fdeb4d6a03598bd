using Fednl.Kernels;

namespace Fednl.Tests.Kernels;

/// <summary>Hessian plans through the managed wrapper, against the oracle's packed Hessian.</summary>
public sealed class HessianPlanTests
{
    private const double Lambda = 1e-3;

    [TestCase(60, 20, 0.05)]
    [TestCase(60, 20, 0.4)]
    [TestCase(9, 33, 0.9)]
    public void The_sparse_plan_gives_the_oracle_Hessian_on_its_pattern_and_the_Hessian_is_zero_elsewhere(int rows, int columns, double density)
    {
        var p = RandomProblem.Create(rows, columns, density, seed: rows + columns);
        var plan = HessianPlan.Build(p.Csr, dense: false);
        var packed = new double[PackedSymmetric.Length(columns)];
        var weights = new double[rows + 1];
        LogisticOracle.EvaluateSparse(p.Csr, p.Labels, p.X, Lambda, new double[rows], default, packed, weights);
        var hessian = new double[plan.PatternLength];
        plan.Hessian(weights, Lambda, default, hessian);

        var expanded = new double[packed.Length];
        plan.Expand(hessian, expanded);
        for (int e = 0; e < packed.Length; e++)
            Assert.That(expanded[e], Is.EqualTo(packed[e]).Within(1e-15 + 1e-13 * Math.Abs(packed[e])), $"entry {e}");
        Assert.That(plan.Pattern, Is.Ordered.Ascending.And.Unique);
        Assert.That(plan.Pairs, Is.EqualTo(Enumerable.Range(0, rows).Sum(j =>
        {
            long nnz = p.RowPointers[j + 1] - p.RowPointers[j];
            return nnz * (nnz + 1) / 2;
        })));
    }

    [Test]
    public void A_dense_plan_covers_every_entry_and_copies_the_dense_Hessian()
    {
        var p = RandomProblem.Create(12, 7, 0.7, seed: 4);
        var plan = HessianPlan.Build(p.Csr, dense: true);
        Assert.That(plan.Pattern, Is.EqualTo(Enumerable.Range(0, PackedSymmetric.Length(7))));
        var packed = new double[PackedSymmetric.Length(7)];
        var work = new double[LogisticOracle.DenseWorkspaceLength(12, 7)];
        LogisticOracle.EvaluateDense(p.Dense, 12, 7, p.Labels, p.X, Lambda, new double[12], new double[7], packed, work);
        var hessian = new double[plan.PatternLength];
        plan.Hessian(default, Lambda, packed, hessian);
        Assert.That(hessian, Is.EqualTo(packed));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Expand_compact_and_add_are_consistent(bool dense)
    {
        var p = RandomProblem.Create(30, 15, 0.2, seed: 8);
        var plan = HessianPlan.Build(p.Csr, dense);
        var values = Enumerable.Range(1, plan.PatternLength).Select(v => (double)v).ToArray();
        var packed = new double[PackedSymmetric.Length(15)];
        plan.Expand(values, packed);
        var back = new double[plan.PatternLength];
        plan.Compact(packed, back);
        Assert.That(back, Is.EqualTo(values));
        var sum = (double[])packed.Clone();
        plan.AddTo(values, sum);
        Assert.That(sum, Is.EqualTo(packed.Select(v => 2 * v)));
        if (dense) Assert.That(packed, Is.EqualTo(values), "a dense plan's values are the packed matrix");
    }

    [Test]
    public void A_dense_plan_stores_no_pattern()
    {
        var p = RandomProblem.Create(12, 40, 0.7, seed: 5);
        var sparse = HessianPlan.Build(p.Csr, dense: false);
        var dense = HessianPlan.Build(p.Csr, dense: true);
        Assert.That(sparse.Bytes, Is.GreaterThanOrEqualTo(4L * sparse.PatternLength));
        Assert.That(dense.PatternLength, Is.EqualTo(PackedSymmetric.Length(40)));
        Assert.That(dense.Bytes, Is.LessThan(4L * dense.PatternLength), "the identity pattern is not held");
    }
}

/// <summary>Which way a client forms its Hessian when left to choose.</summary>
public sealed class HessianPathChoiceTests
{
    // 300 × 60 clients take the fused step: the plan up to 0.1 m·D gathers (density 0.25: ≈ 0.07, 0.4: ≈ 0.17, which
    // the dsyrk clients' 0.35 would leave on the plan)
    [TestCase(0.04, false)]
    [TestCase(0.25, false)]
    [TestCase(0.4, true)]
    [TestCase(0.95, true)]
    public void Auto_takes_the_plan_unless_the_fused_step_is_cheaper(double density, bool dense)
    {
        var data = Fednl.Data.SyntheticDataset.Generate(300, 60, density, 2);
        Assert.That(Fednl.Clients.FedNLClient.FitsFusedStep(data.Samples, data.Features), Is.True);
        var client = new Fednl.Clients.FedNLClient(0, data, 1e-3, Fednl.Configuration.HessianPath.Auto);
        Assert.That(client.UsesDenseHessian, Is.EqualTo(dense));
        Assert.That(client.UsesFusedStep, Is.EqualTo(dense));
        Assert.That(client.Plan.IsDense, Is.EqualTo(dense));
    }

    // 1100 × 60 clients are past the panels' 1024 rows, so their dense path is dsyrk: the plan up to 0.35 m·D
    [TestCase(0.4, false)]
    [TestCase(0.7, true)]
    public void Auto_takes_the_plan_unless_dsyrk_is_cheaper(double density, bool dense)
    {
        var data = Fednl.Data.SyntheticDataset.Generate(1100, 60, density, 3);
        var client = new Fednl.Clients.FedNLClient(0, data, 1e-3, Fednl.Configuration.HessianPath.Auto);
        Assert.That(client.UsesDenseHessian, Is.EqualTo(dense));
        Assert.That(client.UsesFusedStep, Is.False);
    }

    // any client of at most 24 rows; else at most 1024 rows, 1020 features and 2^17 dense entries (the AVX2 panels)
    [TestCase(24, 65535, true)]
    [TestCase(25, 1021, false)]
    [TestCase(128, 1020, true)]
    [TestCase(129, 1020, false)]
    [TestCase(1024, 128, true)]
    [TestCase(1025, 100, false)]
    [TestCase(256, 512, true)]
    [TestCase(256, 513, false)]
    [TestCase(77, 69, true)]
    public void Fused_step_takes_clients_whose_rows_fit_the_panels(int samples, int features, bool fused) =>
        Assert.That(Fednl.Clients.FedNLClient.FitsFusedStep(samples, features), Is.EqualTo(fused));
}
