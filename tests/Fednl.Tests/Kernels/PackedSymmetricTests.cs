using Fednl.Kernels;

namespace Fednl.Tests.Kernels;

[NonParallelizable]
public sealed class PackedSymmetricTests
{
    [TestCase(KernelVariant.Reference)]
    [TestCase(KernelVariant.Avx2)]
    [TestCase(KernelVariant.Avx512)]
    public void Frobenius_norm_counts_off_diagonal_entries_twice(KernelVariant variant)
    {
        if (!KernelSettings.IsAvailable(variant))
            Assert.Ignore($"this CPU or build cannot run the {variant} variant");
        KernelSettings.Use(variant);
        try
        {
            foreach (int n in new[] { 0, 1, 2, 3, 5, 8, 9, 17, 69, 301, 400 })
            {
                var random = new Random(n);
                var packed = Enumerable.Range(0, PackedSymmetric.Length(n)).Select(_ => random.NextDouble() - 0.5).ToArray();
                var full = new double[n * n];
                PackedSymmetric.Unpack(n, packed, full);
                double expected = Math.Sqrt(full.Sum(v => v * v));
                Assert.That(PackedSymmetric.FrobeniusNorm(n, packed), Is.EqualTo(expected).Within(1e-11).Percent, $"n = {n}");
            }
        }
        finally
        {
            KernelSettings.Use(KernelVariant.Auto);
        }
    }

    [Test]
    public void Index_walks_the_upper_triangle_row_by_row()
    {
        Assert.That(PackedSymmetric.Index(3, 0, 0), Is.EqualTo(0));
        Assert.That(PackedSymmetric.Index(3, 0, 2), Is.EqualTo(2));
        Assert.That(PackedSymmetric.Index(3, 1, 1), Is.EqualTo(3));
        Assert.That(PackedSymmetric.Index(3, 2, 1), Is.EqualTo(4));
        Assert.That(PackedSymmetric.Index(3, 2, 2), Is.EqualTo(5));
        Assert.That(PackedSymmetric.Length(301), Is.EqualTo(45451));
    }
}
