using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Reporting;

namespace Fednl.Tests.Algorithms;

/// <summary>The same seed gives a bit-identical history and model whatever the thread count.</summary>
public sealed class ReproducibilityTests
{
    private static readonly ClientSplitResult Split =
        ClientSplit.Split(SyntheticDataset.Generate(700, 30, 0.25, 3).WithIntercept(), 14, 123);

    private static TrainingResult Run(TrainingOptions options, int threads) =>
        FedNLTrainer.Train(Split.Clients, 0, options with { Clients = Split.Clients.Count, Threads = threads, Rounds = 25 });

    [Test]
    public void Histories_are_bit_identical_across_thread_counts(
        [Values(Algorithm.FedNL, Algorithm.FedNLLineSearch, Algorithm.FedNLPartialParticipation)] Algorithm algorithm,
        [Values(CompressorKind.TopLEK, CompressorKind.RandK, CompressorKind.RandSeqK, CompressorKind.Natural, CompressorKind.PermK)] CompressorKind compressor)
    {
        var options = new TrainingOptions { Algorithm = algorithm, Compressor = compressor, ClientsPerRound = 5 };
        var one = Run(options, 1);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            var other = Run(options, threads);
            Assert.That(other.History.Count, Is.EqualTo(one.History.Count));
            for (int k = 0; k < one.History.Count; k++)
            {
                Assert.That(Bits(other.History[k].Loss), Is.EqualTo(Bits(one.History[k].Loss)), $"f at round {k}, {threads} threads");
                Assert.That(Bits(other.History[k].GradientNorm), Is.EqualTo(Bits(one.History[k].GradientNorm)), $"‖∇f‖ at round {k}");
            }
            Assert.That(other.Model.Select(Bits), Is.EqualTo(one.Model.Select(Bits)), $"model, {threads} threads");
        }
    }

    /// <summary>Dense clients of 14 rows, on the fused dense step: bit-identical across thread counts too.</summary>
    [Test]
    public void Fused_dense_histories_are_bit_identical_across_thread_counts(
        [Values(Algorithm.FedNL, Algorithm.FedNLPartialParticipation)] Algorithm algorithm,
        [Values(CompressorKind.Natural, CompressorKind.Identical, CompressorKind.TopK, CompressorKind.RandK)] CompressorKind compressor)
    {
        var split = ClientSplit.Split(SyntheticDataset.GenerateDense(700, 30, 0.1, 2.0, 5), 50, 123);
        Assert.That(new Fednl.Clients.FedNLClient(0, split.Clients[0], 1e-3, HessianPath.Dense).UsesFusedStep, Is.True);
        TrainingResult Dense(int threads) => FedNLTrainer.Train(split.Clients, 0, new TrainingOptions
        {
            Algorithm = algorithm, Compressor = compressor, ClientsPerRound = 7, HessianPath = HessianPath.Dense,
            Clients = split.Clients.Count, Threads = threads, Rounds = 15,
        });
        var one = Dense(1);
        var two = Dense(2);
        Assert.That(two.History.Select(r => Bits(r.GradientNorm)), Is.EqualTo(one.History.Select(r => Bits(r.GradientNorm))));
        Assert.That(two.History.Select(r => Bits(r.Loss)), Is.EqualTo(one.History.Select(r => Bits(r.Loss))));
        Assert.That(two.Model.Select(Bits), Is.EqualTo(one.Model.Select(Bits)));
        Assert.That(one.Final.GradientNorm, Is.LessThan(one.History[0].GradientNorm), "the run made progress");
    }

    [Test]
    public void Another_seed_gives_another_run()
    {
        var a = Run(new TrainingOptions { Compressor = CompressorKind.RandK, Seed = 1 }, 2);
        var b = Run(new TrainingOptions { Compressor = CompressorKind.RandK, Seed = 2 }, 2);
        Assert.That(a.History[3].GradientNorm, Is.Not.EqualTo(b.History[3].GradientNorm));
    }

    [Test]
    public void Cancellation_returns_what_was_computed()
    {
        using var cancel = new CancellationTokenSource();
        var progress = new StopAfter(5, cancel);
        var result = FedNLTrainer.Train(Split.Clients, 0,
            new TrainingOptions { Clients = Split.Clients.Count, Rounds = 1000 }, progress, cancel.Token);
        Assert.That(result.Cancelled, Is.True);
        Assert.That(result.History.Count, Is.InRange(6, 8));
        Assert.That(result.Model.Any(v => v != 0), Is.True);
        Assert.That(result.History.Select(r => r.Round), Is.Ordered.Ascending);
    }

    private static long Bits(double v) => BitConverter.DoubleToInt64Bits(v);

    private sealed class StopAfter(int round, CancellationTokenSource cancel) : IProgress<RoundReport>
    {
        public void Report(RoundReport value)
        {
            if (value.Round == round) cancel.Cancel();
        }
    }
}

/// <summary>
/// The round loop allocates (almost) nothing. Measured in a `fednl train` process of its own: the allocation counter
/// is process-wide, so beside other tests it would count theirs too. Bytes are asserted, not collections: whether a
/// few KB trigger a gen-0 collection depends on the machine's budget, which varies with its caches.
/// </summary>
[NonParallelizable]
public sealed class AllocationTests
{
    [TestCase(Algorithm.FedNL, CompressorKind.RandSeqK)]
    [TestCase(Algorithm.FedNL, CompressorKind.TopK)]
    [TestCase(Algorithm.FedNL, CompressorKind.Natural)]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.RandK)]
    public void Rounds_allocate_almost_nothing(Algorithm algorithm, CompressorKind compressor)
    {
        var (args, _) = Network.MultiNodeEquivalenceTests.Training(algorithm, compressor, 20, rounds: 400);
        using var folder = TestData.TempFolder();
        using var train = new Network.FednlProcess("train", folder.Path, ["train", "--clients", "20", "--threads", "2", "--json", .. args]);
        Assert.That(train.WaitForExit(), Is.Zero, train.ToString());
        var json = System.Text.Json.JsonDocument.Parse(train.Output.Trim().Split('\n')[^1]).RootElement;
        Assert.That(json.GetProperty("rounds").GetInt32(), Is.EqualTo(400), train.Output);
        long bytes = json.GetProperty("allocated_bytes_during_rounds").GetInt64();
        // what remains is the history itself (one record per round) and the thread pool's bookkeeping
        Assert.That(bytes / 400.0, Is.LessThan(4096), $"{bytes} bytes allocated in the rounds ({json.GetProperty("gc_during_rounds")} collections)");
    }
}
