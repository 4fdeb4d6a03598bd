using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Tests.Cli;

namespace Fednl.Tests.Algorithms;

/// <summary>Runs too large for the model dimension or the memory are refused before anything is allocated.</summary>
[NonParallelizable]
public sealed class MemoryEstimateTests
{
    [TestCase(CompressorKind.RandK, HessianPath.Auto)]
    [TestCase(CompressorKind.Identical, HessianPath.Sparse)]
    [TestCase(CompressorKind.TopK, HessianPath.Dense)]
    public void The_estimate_bounds_what_a_run_holds_during_its_rounds(CompressorKind compressor, HessianPath path)
    {
        var split = ClientSplit.Split(SyntheticDataset.Generate(2000, 400, 0.3, 5), 8, 1, SplitMode.DropRemainder);
        var options = new TrainingOptions { Clients = 8, Rounds = 1, Threads = 2, Compressor = compressor, HessianPath = path };
        long estimate = MemoryEstimate.TrainingBytes(split.Clients, options);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var held = new HeldMemory();
        FedNLTrainer.Train(split.Clients, 0, options, held);
        long during = held.Bytes - before;
        Assert.That(during, Is.GreaterThan(8L * 400 * 401), "the server alone holds two packed matrices");
        Assert.That(estimate, Is.GreaterThanOrEqualTo(during - (1 << 20)), "an upper bound (1 MB for the run's small objects)");
        Assert.That(estimate, Is.LessThan(2 * during), "and not far above it");
    }

    /// <summary>The managed heap's live bytes when round 1 is reported (the run's buffers are all alive then).</summary>
    private sealed class HeldMemory : IProgress<Fednl.Reporting.RoundReport>
    {
        public long Bytes;

        public void Report(Fednl.Reporting.RoundReport value)
        {
            if (value.Round == 1) Bytes = GC.GetTotalMemory(forceFullCollection: true);
        }
    }

    [Test]
    public void A_run_over_the_limit_is_refused_saying_what_it_needs_and_what_there_is()
    {
        var data = SyntheticDataset.Generate(400, 300, 0.2, 3);
        var options = new TrainingOptions { Clients = 4, Rounds = 1, Threads = 2, MemoryLimitBytes = 1 << 20 };
        var e = Assert.Throws<TrainingTooLargeException>(() => FedNLTrainer.Train(data, options))!;
        Assert.That(e.RequiredBytes, Is.GreaterThan(1 << 20));
        Assert.That(e.AvailableBytes, Is.EqualTo(1 << 20));
        Assert.That(e.Message, Does.Contain("d = 300").And.Contain("the limit is 1 MB"));
        Assert.That(FedNLTrainer.Train(data, options with { MemoryLimitBytes = long.MaxValue }).History, Has.Count.EqualTo(2));
    }

    [TestCase(300, 0.02)]
    [TestCase(200, 0.3)]
    [TestCase(60, 0.9)]
    public void The_plan_bound_used_for_large_d_is_at_least_the_measured_plan(int d, double density)
    {
        var data = SyntheticDataset.Generate(500, d, density, 9);
        long packed = (long)d * (d + 1) / 2;
        var measured = Fednl.Kernels.HessianPlan.Measure(new Fednl.Kernels.CsrSpan(data.RowPointers, data.ColumnIndices, data.Values, d), dense: false);
        var bound = MemoryEstimate.PlanBound(data, packed);
        Assert.That(bound.PatternLength, Is.GreaterThanOrEqualTo(measured.PatternLength));
        Assert.That(bound.Words, Is.GreaterThanOrEqualTo(measured.Words));
    }

    [Test]
    public void The_machine_reports_some_memory_available() =>
        Assert.That(MemoryEstimate.AvailableBytes(), Is.GreaterThan(16L << 20));

    [TestCase(65536)]
    [TestCase(70000)]
    public void A_feature_index_past_the_supported_dimension_is_one_line_not_a_crash(int index)
    {
        using var temp = TestData.TempFolder();
        string file = temp.File("wide.svm", $"1 {index}:1\n-1 1:1\n1 2:1\n-1 3:0.5\n");
        var (exit, _, error) = CliHarness.Run("train", "--data", file, "--clients", "2", "--rounds", "1");
        Assert.That(exit, Is.EqualTo(1), error);
        Assert.That(error.Trim(), Is.EqualTo($"fednl: d = {index} features is more than FedNL supports (65535): the d(d+1)/2 Hessian entries are kept in one array"));
    }

    [Test]
    public void A_run_that_does_not_fit_names_its_need_the_limit_and_the_flag_that_overrides()
    {
        using var temp = TestData.TempFolder();
        string file = temp.File("wide.svm", "1 20000:1\n-1 1:1\n1 2:1\n-1 3:1\n");
        var (exit, _, error) = CliHarness.Run("train", "--data", file, "--clients", "2", "--rounds", "1", "--threads", "2", "--memory-limit", "2");
        Assert.That(exit, Is.EqualTo(1), error);
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Match(@"training needs up to \d+\.\d GB \(d = 20000: one d x d Hessian takes 1\.5 GB; 2 clients, 2 workers\) but the limit is 2\.0 GB; --no-memory-check starts it anyway"));
    }
}
