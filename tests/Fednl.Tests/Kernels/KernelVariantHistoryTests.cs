using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Reporting;

namespace Fednl.Tests.Kernels;

/// <summary>
/// The AVX-512 variant reproduces the AVX2 variant's sums, so whole runs give the same history and model bit for bit:
/// sparse Hessian plans (gathers), dense clients, the loss step, and M = H − H_i with its keys for every compressor.
/// </summary>
[NonParallelizable]
public sealed class KernelVariantHistoryTests
{
    private static readonly ClientSplitResult Split =
        ClientSplit.Split(SyntheticDataset.Generate(900, 40, 0.2, 5).WithIntercept(), 12, 123);

    private static TrainingResult Run(KernelVariant variant, TrainingOptions options)
    {
        KernelSettings.Use(variant);
        try
        {
            return FedNLTrainer.Train(Split.Clients, 0, options with { Clients = Split.Clients.Count, Threads = 2, Rounds = 30 });
        }
        finally
        {
            KernelSettings.Use(KernelVariant.Auto);
        }
    }

    [Test]
    public void Avx512_histories_equal_the_avx2_ones_bit_for_bit(
        [Values(CompressorKind.Identical, CompressorKind.TopK, CompressorKind.TopLEK, CompressorKind.RandK,
            CompressorKind.RandSeqK, CompressorKind.Natural, CompressorKind.PermK)] CompressorKind compressor,
        [Values(HessianPath.Sparse, HessianPath.Dense)] HessianPath path)
    {
        if (!KernelSettings.Avx512Available)
            Assert.Ignore("this CPU or build has no AVX-512 F+DQ+BW+VL: the AVX-512 variant cannot run here");
        var options = new TrainingOptions { Compressor = compressor, HessianPath = path };
        var avx2 = Run(KernelVariant.Avx2, options);
        var avx512 = Run(KernelVariant.Avx512, options);
        Assert.That(avx512.History.Count, Is.EqualTo(avx2.History.Count));
        for (int k = 0; k < avx2.History.Count; k++)
        {
            Assert.That(Bits(avx512.History[k].Loss), Is.EqualTo(Bits(avx2.History[k].Loss)), $"f at round {k}");
            Assert.That(Bits(avx512.History[k].GradientNorm), Is.EqualTo(Bits(avx2.History[k].GradientNorm)), $"‖∇f‖ at round {k}");
        }
        Assert.That(avx512.Model.Select(Bits), Is.EqualTo(avx2.Model.Select(Bits)), "model");
    }

    private static long Bits(double v) => BitConverter.DoubleToInt64Bits(v);
}
