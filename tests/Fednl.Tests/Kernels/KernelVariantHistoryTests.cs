using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Kernels;
using Fednl.Reporting;

namespace Fednl.Tests.Kernels;

/// <summary>
/// Every kernel variant reproduces the AVX2 variant's sums (the reference by writing the vector lanes' association out
/// in scalar code, AVX-512 by holding two AVX2 accumulators in one register), so whole runs give the same history and
/// model bit for bit: sparse Hessian plans (gathers), dense clients, the oracle's dots, axpys and loss step, and
/// M = H − H_i with its norm and keys for every compressor.
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
    public void Histories_equal_the_avx2_ones_bit_for_bit(
        [Values(KernelVariant.Reference, KernelVariant.Avx512)] KernelVariant variant,
        [Values(CompressorKind.Identical, CompressorKind.TopK, CompressorKind.TopLEK, CompressorKind.RandK,
            CompressorKind.RandSeqK, CompressorKind.Natural, CompressorKind.PermK)] CompressorKind compressor,
        [Values(HessianPath.Sparse, HessianPath.Dense)] HessianPath path)
    {
        if (!KernelSettings.Avx2Available)
            Assert.Ignore("this CPU or build has no AVX2 + FMA: there is no AVX2 variant to compare with");
        if (variant == KernelVariant.Avx512 && !KernelSettings.Avx512Available)
            Assert.Ignore("this CPU or build has no AVX-512 F+DQ+BW+VL: the AVX-512 variant cannot run here");
        var options = new TrainingOptions { Compressor = compressor, HessianPath = path };
        var avx2 = Run(KernelVariant.Avx2, options);
        var other = Run(variant, options);
        Assert.That(other.History.Count, Is.EqualTo(avx2.History.Count));
        for (int k = 0; k < avx2.History.Count; k++)
        {
            Assert.That(Bits(other.History[k].Loss), Is.EqualTo(Bits(avx2.History[k].Loss)), $"f at round {k}");
            Assert.That(Bits(other.History[k].GradientNorm), Is.EqualTo(Bits(avx2.History[k].GradientNorm)), $"‖∇f‖ at round {k}");
        }
        Assert.That(other.Model.Select(Bits), Is.EqualTo(avx2.Model.Select(Bits)), "model");
    }

    private static long Bits(double v) => BitConverter.DoubleToInt64Bits(v);
}
