using System.Diagnostics;
using Fednl.Interop;
using Fednl.Kernels;
using Fednl.Reporting;

namespace Fednl.Tests.Kernels;

/// <summary>The machine probes: exact work, positive finite rates, refused arguments. No timing thresholds.</summary>
public sealed class MachineProbeTests
{
    private static double RateOf(Func<long> probe, out long work)
    {
        var clock = Stopwatch.StartNew();
        work = probe();
        return work / Math.Max(clock.Elapsed.TotalSeconds, 1e-12);
    }

    [Test]
    public void Each_probe_reports_its_work_and_a_positive_finite_rate()
    {
        var source = Enumerable.Repeat(1.0, 1001).ToArray();
        var target = new double[1001];
        var indices = Enumerable.Range(0, 1001).Select(k => k * 7 % 64).ToArray();
        var z = Enumerable.Range(0, 1001).Select(k => k % 17 - 8.0).ToArray();
        double sink = 0;
        var rates = new[]
        {
            (RateOf(() => MachineProbe.StreamRead(source, 3, out sink), out long read), read, 8L * 1001 * 3),
            (RateOf(() => MachineProbe.StreamTriad(source, target, 2, out sink), out long triad), triad, 24L * 1001 * 2),
            (RateOf(() => MachineProbe.Fma(100, out sink), out long fmas), fmas, KernelSettings.Active == KernelVariant.Avx512 ? 9600L : 4800L),
            (RateOf(() => MachineProbe.Gather(indices, source.AsSpan(0, 64), 5, out sink), out long gathers), gathers, 5L * 1001),
            (RateOf(() => MachineProbe.Exp(z, 2, out sink), out long exps), exps, 2L * 1001),
        };
        foreach (var (rate, work, expected) in rates)
        {
            Assert.That(work, Is.EqualTo(expected));
            Assert.That(double.IsFinite(rate) && rate > 0, Is.True, $"rate {rate}");
        }
        Assert.That(double.IsFinite(sink), Is.True);
        Assert.That(MachineProbe.StreamRead(source, 2, out sink), Is.EqualTo(16016));
        Assert.That(sink, Is.EqualTo(2002.0));
    }

    [Test]
    public void Probes_refuse_bad_arguments()
    {
        var buffer = new double[8];
        Assert.Throws<FednlNativeException>(() => MachineProbe.StreamRead(buffer, 0, out _));
        Assert.Throws<FednlNativeException>(() => MachineProbe.StreamRead(default, 1, out _));
        Assert.Throws<ArgumentException>(() => MachineProbe.StreamTriad(buffer, new double[7], 1, out _));
        Assert.Throws<FednlNativeException>(() => MachineProbe.Fma(0, out _));
        Assert.Throws<FednlNativeException>(() => MachineProbe.Fma(long.MaxValue / 40, out _));
        var e = Assert.Throws<FednlNativeException>(() => MachineProbe.Gather([0, 1, 8], buffer, 1, out _))!;
        Assert.That(e.Message, Does.Contain("indices[2] = 8 lies outside [0, 8)"));
        Assert.Throws<FednlNativeException>(() => MachineProbe.Gather([0, -1], buffer, 1, out _));
        Assert.Throws<FednlNativeException>(() => MachineProbe.Gather([0], buffer, 0, out _));
        Assert.Throws<FednlNativeException>(() => MachineProbe.Exp([1.0, double.NaN], 1, out _));
        Assert.Throws<FednlNativeException>(() => MachineProbe.Exp(default, 1, out _));
    }

    [Test]
    public void Measured_bounds_are_positive_and_finite_on_one_and_all_cores()
    {
        var bounds = MachineBounds.Measure(threads: 2, seconds: 0.002);
        var rates = new[] { bounds.L2Read, bounds.L2Triad, bounds.L3Read, bounds.L3Triad, bounds.DramRead, bounds.DramTriad,
            bounds.Fma, bounds.Gather, bounds.Exp };
        foreach (var r in rates)
        {
            Assert.That(double.IsFinite(r.PerCore) && r.PerCore > 0, Is.True, r.ToString());
            Assert.That(double.IsFinite(r.AllCores) && r.AllCores > 0, Is.True, r.ToString());
            Assert.That(r.Threads, Is.EqualTo(2));
        }
        Assert.That(bounds.L2CacheBytes, Is.GreaterThan(0));
        Assert.That(bounds.L3CacheBytes, Is.GreaterThan(0));
    }
}
