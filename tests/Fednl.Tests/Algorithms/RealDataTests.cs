using System.Collections.Concurrent;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;

namespace Fednl.Tests.Algorithms;

/// <summary>
/// FedNL on the paper's datasets (with intercept, λ = 1e-3, K = 8d) reaches ‖∇f‖ ≤ 1e-10 with every compressor, and
/// f equals the optimum of an independent centralised Newton solver to 1e-12 relative. Client counts are chosen to
/// keep CI short; the algorithm does not depend on them.
/// </summary>
[Category("RealData")]
public sealed class RealDataTests
{
    private static readonly ConcurrentDictionary<string, (ClientSplitResult Split, double Optimum)> Problems = new();

    private static (ClientSplitResult Split, double Optimum) Problem(string name, int clients) =>
        Problems.GetOrAdd($"{name}/{clients}", _ =>
        {
            var data = LibSvmReader.Read(TestData.Dataset(name), addIntercept: true);
            var split = ClientSplit.Split(data, clients, 123);
            var (f, _, g) = CentralisedNewton.Solve(split.Clients, 1e-3);
            Assert.That(g, Is.LessThan(1e-12), "reference Newton converged");
            return (split, f);
        });

    private static void Check(string name, int clients, TrainingOptions options)
    {
        var (split, optimum) = Problem(name, clients);
        var result = FedNLTrainer.Train(split.Clients, split.DroppedSamples,
            options with { Clients = clients, Tolerance = 1e-10, KMultiplier = 8, Lambda = 1e-3 });
        TestContext.Out.WriteLine($"{name} {options.Algorithm} {options.Compressor}: {result.Final.Round} rounds, " +
                                  $"{result.TrainSeconds:F2} s, ‖∇f‖ {result.Final.GradientNorm:E2}");
        Assert.That(result.Final.GradientNorm, Is.LessThanOrEqualTo(1e-10), $"after {result.Final.Round} rounds");
        Assert.That(Math.Abs(result.Final.Loss - optimum) / optimum, Is.LessThanOrEqualTo(1e-12),
            $"f = {result.Final.Loss:R}, optimum {optimum:R}");
    }

    [Test]
    public void FedNL_reaches_the_optimum(
        [Values("a9a", "w8a", "phishing")] string name, [Values] CompressorKind compressor) =>
        Check(name, name == "phishing" ? 30 : 40, new TrainingOptions { Compressor = compressor, Rounds = 3000 });

    [Test]
    public void FedNL_LS_reaches_the_optimum_from_zero([Values("a9a", "w8a", "phishing")] string name, [Values] FedNLOption option) =>
        Check(name, 40, new TrainingOptions
        {
            Algorithm = Algorithm.FedNLLineSearch, Compressor = CompressorKind.RandSeqK, Rounds = 3000, Option = option,
        });

    [Test]
    public void FedNL_PP_reaches_the_optimum([Values("a9a", "w8a", "phishing")] string name) =>
        Check(name, 40, new TrainingOptions
        {
            Algorithm = Algorithm.FedNLPartialParticipation, Compressor = CompressorKind.TopK, Rounds = 6000, ClientsPerRound = 12,
        });
}
