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
    public void Pattern_step_moves_the_shift_by_alpha_times_S_and_reports_the_norm(
        [Values(CompressorKind.Identical, CompressorKind.TopK, CompressorKind.TopLEK, CompressorKind.RandK, CompressorKind.RandSeqK,
            CompressorKind.Natural, CompressorKind.PermK)] CompressorKind kind)
    {
        var problem = RandomProblem.Create(40, 12, 0.2, 21);
        var plan = HessianPlan.Build(problem.Csr, dense: false);
        var spec = new CompressorSpec(kind, 12, 2, clients: 5); // permk: client 3's block of 5
        using var compressor = new HessianCompressor(spec, plan.PatternLength);
        var output = new CompressedMatrix(spec);
        var weights = new double[problem.Rows + 1];
        LogisticOracle.EvaluateSparse(problem.Csr, problem.Labels, problem.X, 1e-3, new double[problem.Rows], weights: weights);
        var hessian = new double[plan.PatternLength];
        plan.Hessian(weights, 1e-3, default, hessian);
        var random = new Random(5);
        var shift = hessian.Select(h => h + 0.01 * (random.NextDouble() - 0.5)).ToArray();
        var before = (double[])shift.Clone();
        var difference = new double[spec.PackedLength];
        plan.Expand(hessian.Zip(shift, (h, s) => h - s).ToArray(), difference);

        double norm = compressor.PatternStep(plan, hessian, shift, 0.5, 7, output, remaining: false, out _, client: 3);

        Assert.That(norm, Is.EqualTo(PackedSymmetric.FrobeniusNorm(12, difference)).Within(1e-14));
        // S expanded to all D entries: the packed shift moved by exactly 0.5 S, and S vanishes off the pattern
        var s = new double[spec.PackedLength];
        if (spec.IsDense) output.ExpandDense(s);
        else for (int t = 0; t < output.Count; t++) s[output.Indices[t]] = output.Values[t];
        var expected = new double[spec.PackedLength];
        plan.Expand(before, expected);
        for (int e = 0; e < expected.Length; e++) expected[e] += 0.5 * s[e];
        var moved = new double[spec.PackedLength];
        plan.Expand(shift, moved);
        Assert.That(moved, Is.EqualTo(expected));
        Assert.That(output.UsedIndices.ToArray(), Is.Ordered.Ascending.And.Unique);
    }

    [Test]
    public void An_output_shorter_than_K_is_refused_by_the_kernel_with_both_sizes()
    {
        var spec = new CompressorSpec(CompressorKind.TopK, 30, 2.5);
        using var compressor = new HessianCompressor(spec);
        var shortOutput = new CompressedMatrix(new CompressorSpec(CompressorKind.TopK, 30, 1)); // K = 30, not 75
        var ex = Assert.Throws<Fednl.Interop.FednlNativeException>(() => compressor.Compress(RandomPacked(30, 4), 1, shortOutput));
        Assert.That(ex!.Status, Is.EqualTo(Fednl.Interop.FednlStatus.ErrInvalidArgument));
        Assert.That(ex.Message, Is.EqualTo("compress: indices_capacity is 30, need at least 75"));
        Assert.That(shortOutput.Count, Is.Zero);
    }

    [Test]
    public void Regenerating_into_a_short_span_is_refused_by_the_kernel()
    {
        var spec = new CompressorSpec(CompressorKind.RandK, 40, 3);
        using var receiver = new HessianCompressor(spec);
        var ex = Assert.Throws<Fednl.Interop.FednlNativeException>(() => receiver.RegenerateIndices(1, new int[spec.K - 1], out _));
        Assert.That(ex!.Message, Is.EqualTo($"compress_indices: indices_capacity is {spec.K - 1}, need at least {spec.K}"));
    }

    [Test]
    public void A_pattern_step_into_a_short_output_is_refused_and_leaves_the_shift()
    {
        var problem = RandomProblem.Create(40, 12, 0.2, 22);
        var plan = HessianPlan.Build(problem.Csr, dense: false);
        var spec = new CompressorSpec(CompressorKind.RandSeqK, 12, 2);
        using var compressor = new HessianCompressor(spec, plan.PatternLength);
        var shortOutput = new CompressedMatrix(new CompressorSpec(CompressorKind.RandSeqK, 12, 1));
        var difference = Enumerable.Range(0, plan.PatternLength).Select(t => 1.0 + t).ToArray();
        var shift = new double[plan.PatternLength];
        var ex = Assert.Throws<Fednl.Interop.FednlNativeException>(() =>
            compressor.PatternStep(plan, difference, shift, 0.5, 7, shortOutput, remaining: false, out _));
        Assert.That(ex!.Message, Is.EqualTo("pattern_shift_step: indices_capacity is 12, need at least 24"));
        Assert.That(shift, Is.All.Zero);
        Assert.That(difference, Is.EqualTo(Enumerable.Range(0, plan.PatternLength).Select(t => 1.0 + t).ToArray()));
    }

    [Test]
    public void A_shift_off_the_pattern_is_refused()
    {
        var problem = RandomProblem.Create(10, 9, 0.1, 3);
        var plan = HessianPlan.Build(problem.Csr, dense: false);
        Assert.That(plan.PatternLength, Is.LessThan(PackedSymmetric.Length(9)));
        var packed = new double[PackedSymmetric.Length(9)];
        int off = Enumerable.Range(0, packed.Length).First(e => Array.BinarySearch(plan.Pattern, e) < 0);
        packed[off] = 1;
        var ex = Assert.Throws<ArgumentException>(() => plan.Compact(packed, new double[plan.PatternLength]));
        Assert.That(ex!.Message, Does.Contain($"packed entry {off}").And.Contain("off this client's Hessian pattern"));
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
