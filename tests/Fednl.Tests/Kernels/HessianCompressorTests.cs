using Fednl.Compression;
using Fednl.Kernels;

namespace Fednl.Tests.Kernels;

/// <summary>
/// The compressors through the managed wrapper. Their statistical contracts (unbiasedness, variance within ω, TopK
/// contraction, TopLEK's expectation) are checked over many draws in the native suite (tests/native/test_compressors.c).
/// </summary>
public sealed class HessianCompressorTests
{
    private static double[] RandomPacked(int d, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, PackedSymmetric.Length(d)).Select(_ => random.NextDouble() - 0.5).ToArray();
    }

    [Test]
    public void Sparse_kinds_keep_exactly_K_ascending_entries([Values(CompressorKind.TopK, CompressorKind.RandK, CompressorKind.RandSeqK)] CompressorKind kind)
    {
        var spec = new CompressorSpec(kind, 30, 2.5);
        using var compressor = new HessianCompressor(spec);
        var output = new CompressedMatrix(spec);
        compressor.Compress(RandomPacked(30, 1), 9, output);
        Assert.That(spec.K, Is.EqualTo(75));
        Assert.That(output.Count, Is.EqualTo(75));
        Assert.That(output.UsedIndices.ToArray(), Is.Ordered.Ascending.And.Unique);
    }

    [Test]
    public void Identical_is_exact()
    {
        var spec = new CompressorSpec(CompressorKind.Identical, 17, 8);
        using var compressor = new HessianCompressor(spec);
        var output = new CompressedMatrix(spec);
        var m = RandomPacked(17, 2);
        compressor.Compress(m, 1, output);
        Assert.That(output.UsedValues.ToArray(), Is.EqualTo(m));
    }

    [Test]
    public void Receivers_regenerate_randk_and_randseqk_indices_from_the_seed([Values(CompressorKind.RandK, CompressorKind.RandSeqK)] CompressorKind kind)
    {
        var spec = new CompressorSpec(kind, 40, 3);
        using var sender = new HessianCompressor(spec);
        using var receiver = new HessianCompressor(spec);
        var output = new CompressedMatrix(spec);
        sender.Compress(RandomPacked(40, 3), 1234, output);
        var regenerated = new int[spec.K];
        int count = receiver.RegenerateIndices(1234, regenerated, out long start);
        Assert.That(count, Is.EqualTo(output.Count));
        Assert.That(regenerated, Is.EqualTo(output.UsedIndices.ToArray()));
        if (kind == CompressorKind.RandSeqK) Assert.That(start, Is.InRange(0, spec.PackedLength - 1));
    }

    [Test]
    public void Shift_step_moves_the_shift_by_alpha_times_S()
    {
        var spec = new CompressorSpec(CompressorKind.TopK, 12, 2);
        using var compressor = new HessianCompressor(spec);
        var output = new CompressedMatrix(spec);
        var hessian = RandomPacked(12, 4);
        var shift = RandomPacked(12, 5);
        var before = (double[])shift.Clone();
        var difference = hessian.Zip(shift, (h, s) => h - s).ToArray();
        double norm = compressor.ShiftStep(hessian, shift, 0.5, 7, output);
        Assert.That(norm, Is.EqualTo(PackedSymmetric.FrobeniusNorm(12, difference)).Within(1e-12));
        var expected = (double[])before.Clone();
        for (int t = 0; t < output.Count; t++) expected[output.Indices[t]] += 0.5 * output.Values[t];
        Assert.That(shift, Is.EqualTo(expected));
    }
}

public sealed class CompressorKindTests
{
    [Test]
    public void Managed_kinds_carry_the_native_values()
    {
        foreach (var kind in Enum.GetValues<CompressorKind>())
        {
            var native = Enum.Parse<Fednl.Interop.FednlCompressorKind>(kind.ToString(), ignoreCase: true);
            Assert.That((int)kind, Is.EqualTo((int)native), kind.ToString());
        }
        Assert.That(Enum.GetValues<CompressorKind>(), Has.Length.EqualTo(Enum.GetValues<Fednl.Interop.FednlCompressorKind>().Length));
    }
}
