using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Reporting;

namespace Fednl.Tests.Algorithms;

/// <summary>
/// Every algorithm with every compressor reaches ‖∇f‖ ≤ 1e-10 on generated data, at the optimum an independent
/// centralised Newton solver finds (f equal to 1e-12 relative).
/// </summary>
public sealed class FedNLConvergenceTests
{
    private static readonly ClientSplitResult Split =
        ClientSplit.Split(SyntheticDataset.Generate(900, 24, 0.3, 11).WithIntercept(), 12, 123);
    private static readonly Lazy<(double F, double[] X, double GradientNorm)> Optimum =
        new(() => CentralisedNewton.Solve(Split.Clients, 1e-3));

    private static TrainingResult Train(TrainingOptions options) =>
        FedNLTrainer.Train(Split.Clients, Split.DroppedSamples, options with { Clients = Split.Clients.Count, Tolerance = 1e-10 });

    private static void AssertAtOptimum(TrainingResult result)
    {
        var (f, _, g) = Optimum.Value;
        Assert.That(g, Is.LessThan(1e-13), "the reference solver itself converged");
        Assert.That(result.Final.GradientNorm, Is.LessThanOrEqualTo(1e-10), $"rounds {result.Final.Round}");
        Assert.That(result.Converged, Is.True);
        Assert.That(Math.Abs(result.Final.Loss - f) / f, Is.LessThanOrEqualTo(1e-12), $"f = {result.Final.Loss:R}, optimum {f:R}");
    }

    [Test]
    public void FedNL_option_2_converges_with_every_compressor(
        [Values] CompressorKind compressor, [Values] HessianRule rule)
    {
        AssertAtOptimum(Train(new TrainingOptions { Compressor = compressor, Rounds = 3000, HessianRule = rule }));
    }

    [Test]
    public void FedNL_option_1_converges_with_every_compressor([Values] CompressorKind compressor)
    {
        AssertAtOptimum(Train(new TrainingOptions { Compressor = compressor, Rounds = 3000, Option = FedNLOption.Option1 }));
    }

    [Test]
    public void FedNL_LS_converges_from_zero_with_every_compressor([Values] CompressorKind compressor)
    {
        var result = Train(new TrainingOptions { Algorithm = Algorithm.FedNLLineSearch, Compressor = compressor, Rounds = 3000 });
        AssertAtOptimum(result);
        Assert.That(result.History.Skip(1).Take(3).All(r => r.LineSearchTries >= 1), Is.True, "far from the optimum every round searches");
        for (int k = 1; k < result.History.Count; k++)
            Assert.That(result.History[k].Loss, Is.LessThanOrEqualTo(result.History[k - 1].Loss + 1e-15), $"f rose at round {k}");
    }

    [Test]
    public void FedNL_PP_converges_with_every_compressor([Values] CompressorKind compressor)
    {
        var result = Train(new TrainingOptions
        {
            Algorithm = Algorithm.FedNLPartialParticipation, Compressor = compressor, Rounds = 6000, ClientsPerRound = 4,
        });
        AssertAtOptimum(result);
        Assert.That(result.History[^1].Participants, Is.EqualTo(4));
    }

    [Test]
    public void Gradient_descent_decreases_f_monotonically()
    {
        var result = Train(new TrainingOptions { Algorithm = Algorithm.GradientDescent, Rounds = 200 });
        for (int k = 1; k < result.History.Count; k++)
            Assert.That(result.History[k].Loss, Is.LessThanOrEqualTo(result.History[k - 1].Loss));
        Assert.That(result.Final.Loss - Optimum.Value.F, Is.LessThan(result.History[0].Loss - Optimum.Value.F));
    }

    [Test]
    public void Alpha_follows_the_theoretical_rules_unless_given()
    {
        var spec = new CompressorSpec(CompressorKind.RandK, 301, 8);
        Assert.That(spec.K, Is.EqualTo(2408));
        Assert.That(spec.DefaultAlpha(FedNLOption.Option2), Is.EqualTo(2408.0 / 45451).Within(1e-15));
        Assert.That(new CompressorSpec(CompressorKind.Natural, 301, 8).DefaultAlpha(FedNLOption.Option2), Is.EqualTo(8.0 / 9).Within(1e-15));
        Assert.That(new CompressorSpec(CompressorKind.TopK, 301, 8).DefaultAlpha(FedNLOption.Option2), Is.EqualTo(1.0));
        Assert.That(new CompressorSpec(CompressorKind.TopK, 301, 8).DefaultAlpha(FedNLOption.Option1),
            Is.EqualTo(1 - Math.Sqrt(1 - 2408.0 / 45451)).Within(1e-15));
        Assert.That(new CompressorSpec(CompressorKind.Identical, 124, 8).DefaultAlpha(FedNLOption.Option2), Is.EqualTo(1.0));
        var result = Train(new TrainingOptions { Compressor = CompressorKind.RandK, Rounds = 2, Alpha = 0.25 });
        Assert.That(result.Alpha, Is.EqualTo(0.25));
    }

    [Test]
    public void Bytes_follow_the_wire_table()
    {
        int d = Split.Clients[0].Features, n = Split.Clients.Count;
        long D = (long)d * (d + 1) / 2, k = 8 * d;
        long perClientBase = 8L * d + 16; // gradient, f_i, l_i
        var expected = new Dictionary<CompressorKind, (long Values, long Indices)>
        {
            [CompressorKind.Identical] = (8 * D, 0),
            [CompressorKind.TopK] = (8 * k, 4 * k),
            [CompressorKind.RandK] = (8 * k, 0),
            [CompressorKind.RandSeqK] = (8 * k, 4),
            [CompressorKind.Natural] = ((12 * D + 7) / 8, 0),
        };
        foreach (var (kind, (values, indices)) in expected)
        {
            var result = FedNLTrainer.Train(Split.Clients, 0, new TrainingOptions { Clients = n, Compressor = kind, Rounds = 3 });
            var round1 = result.History[0]; // counters are cumulative: row 0 holds round 0's messages
            Assert.That(round1.BytesUpValues, Is.EqualTo(n * (perClientBase + values)), kind.ToString());
            Assert.That(round1.BytesUpIndices, Is.EqualTo(n * indices), kind.ToString());
            Assert.That(round1.BytesDown, Is.EqualTo(n * 8L * d), kind.ToString());
        }
        // permk: the n blocks partition the D entries, so the clients send D values in all and no indices
        var permk = FedNLTrainer.Train(Split.Clients, 0, new TrainingOptions { Clients = n, Compressor = CompressorKind.PermK, Rounds = 3 });
        Assert.That(permk.History[0].BytesUpValues, Is.EqualTo(n * perClientBase + 8 * D));
        Assert.That(permk.History[0].BytesUpIndices, Is.Zero);
    }
}
