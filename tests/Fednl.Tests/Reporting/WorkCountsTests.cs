using Fednl.Clients;
using Fednl.Compression;
using Fednl.Data;
using Fednl.Reporting;

namespace Fednl.Tests.Reporting;

/// <summary>The roofline's work counts on a client small enough to count by hand, and the fraction it derives.</summary>
public sealed class WorkCountsTests
{
    /// <summary>
    /// 3 rows over d = 3, all values 1: {0, 1}, {1, 2}, {0}. nnz 5; row pairs 3 + 3 + 1 = 7; pattern: the diagonal and
    /// (0,1), (1,2) — (0,2) shares no row — so P = 5 of D = 6.
    /// </summary>
    private static Dataset Tiny() => new("tiny", 3, [0, 2, 4, 5], [0, 1, 1, 2, 0], [1, 1, 1, 1, 1], [1, -1, 1]);

    [Test]
    public void The_shape_comes_from_the_rows_and_the_Hessian_plan()
    {
        var shape = FedNLClient.Shapes([Tiny()], Fednl.Configuration.HessianPath.Sparse).Single();
        Assert.That((shape.Rows, shape.Nonzeros, shape.Pairs, shape.PatternLength, shape.Dense, shape.Valued),
            Is.EqualTo((3, 5L, 7L, 5L, false, false)));
        Assert.That(shape.PlanBytes, Is.GreaterThan(0));
        // auto picks the dense path here (7 gathers > 0.35 · m · D = 6.3): then P = D and no pairs are gathered
        var auto = FedNLClient.Shapes([Tiny()]).Single();
        Assert.That((auto.Dense, auto.Pairs, auto.PatternLength), Is.EqualTo((true, 0L, 6L)));
    }

    [Test]
    public void Sparse_client_counts_are_exact()
    {
        var shape = new ClientShape(Rows: 3, Nonzeros: 5, Pairs: 7, PatternLength: 5, PlanBytes: 100, Dense: false, Valued: false);
        var work = WorkCounts.PerRound([shape], d: 3, CompressorKind.TopK, k: 2);
        // oracle: read 12·5 (CSR) + 8·4 (row pointers) + 8·3 (labels) + 8·3 (x); write 16·3 (margins, weights) + 8·3 (∇f)
        Assert.That(work.Oracle, Is.EqualTo(new PhaseWork(140, 72, 10, 10, 3, 12 * 5 + 16 * 3 + 16 * 3 + 16 * 3)));
        // Hessian: 7 gathers, no multiplies (0/1 values); the plan and 4 weights read, 5 entries written
        Assert.That(work.Hessian, Is.EqualTo(new PhaseWork(132, 40, 0, 7, 0, 100 + 40 + 24)));
        // compression: M and Σ M² (read 80, write 40, 5 FMAs, 3 diagonal gathers); keys and selection (read 120,
        // write 40 + 24); 2 kept entries (2 FMAs, 4 gathers)
        Assert.That(work.Compression, Is.EqualTo(new PhaseWork(200, 104, 7, 7, 0, 40 + 40 + 40)));
        // server: one gradient of 3 and 2 sent entries; solve d³/6 + d² FMAs
        Assert.That(work.Aggregation, Is.EqualTo(new PhaseWork(48, 24, 5, 2, 0, 48 + 24 + 24)));
        Assert.That(work.Solve, Is.EqualTo(new PhaseWork(48, 72, 13.5, 0, 0, 120)));

        var identical = WorkCounts.PerRound([shape, shape], d: 3, CompressorKind.Identical, k: 6);
        Assert.That(identical.Compression.ReadBytes, Is.EqualTo(2 * 200));
        Assert.That(identical.Compression.WrittenBytes, Is.EqualTo(2 * 120));
        Assert.That(identical.Compression.Fmas, Is.EqualTo(2 * 10));
        Assert.That(identical.Aggregation.Gathers, Is.EqualTo(2 * 5)); // every pattern entry of both clients
        var randk = WorkCounts.PerRound([shape], d: 3, CompressorKind.RandK, k: 4);
        Assert.That(randk.Compression, Is.EqualTo(new PhaseWork(80 + 16, 40 + 16 + 0.75 + 32, 5 + 4, 3 + 8, 0, 40 + 40 + 80)));
    }

    [Test]
    public void Dense_client_counts_are_exact()
    {
        // m = 2 rows, d = 2, D = 3: margins, gradient and the scaling (3·m·d = 12) plus dsyrk m·d(d+1)/2 = 6 FMAs, one exp per
        // row (the loss step's)
        var shape = new ClientShape(Rows: 2, Nonzeros: 4, Pairs: 0, PatternLength: 3, PlanBytes: 64, Dense: true, Valued: true);
        var work = WorkCounts.PerRound([shape], d: 2, CompressorKind.Natural, k: 3);
        Assert.That(work.Oracle, Is.EqualTo(new PhaseWork(128 + 32 + 16 + 16, 32 + 32 + 24 + 32 + 16, 18, 0, 2, 32 + 16 + 8 * (4 + 4 + 3))));
        Assert.That(work.Hessian, Is.EqualTo(new PhaseWork(24, 24, 0, 0, 0, 48)));
    }

    [Test]
    public void Fused_dense_client_counts_its_hessian_under_compression()
    {
        // m = 2 rows, d = 2, D = 3: the oracle's margins and gradient (2·m·d = 8 FMAs) and one exp per row; the fused step's m·D = 6
        // Hessian FMAs plus, for natural, the squares and the shift update (2D = 6); no Hessian phase at all
        var shape = new ClientShape(Rows: 2, Nonzeros: 4, Pairs: 0, PatternLength: 3, PlanBytes: 64, Dense: true, Valued: true, Fused: true);
        var work = WorkCounts.PerRound([shape], d: 2, CompressorKind.Natural, k: 3);
        Assert.That(work.Oracle, Is.EqualTo(new PhaseWork(64 + 16 + 16, 48 + 16, 8, 0, 2, 48 + 32)));
        Assert.That(work.Hessian, Is.EqualTo(PhaseWork.None));
        Assert.That(work.Compression, Is.EqualTo(new PhaseWork(32 + 24, 48, 6 + 6, 0, 0, 32 + 24 + 24 + 60)));
        // the selecting kinds take H written out, then the pattern step's whole pass over it
        var topk = WorkCounts.PerRound([shape], d: 2, CompressorKind.TopK, k: 1).Compression;
        var plain = WorkCounts.CompressionWork(3, 2, 3, CompressorKind.TopK, 1);
        Assert.That(topk with { Footprint = 0 }, Is.EqualTo(new PhaseWork(32, 24, 6, 0, 0) + plain));
    }

    [Test]
    public void The_fraction_is_the_limiting_bound_over_the_measured_time()
    {
        Rate R(double perCore) => new(perCore, 2 * perCore, 2);
        var bounds = new MachineBounds
        {
            Threads = 2, L2CacheBytes = 1 << 20, L3CacheBytes = 32 << 20,
            L2Read = R(100e9), L2Triad = R(80e9), L3Read = R(50e9), L3Triad = R(40e9), DramRead = R(10e9), DramTriad = R(8e9),
            Fma = R(16e9), Gather = R(2e9), Exp = R(1e8),
        };
        // 2e6 gathers at 2e9/s take 1 ms; 1e6 L2-resident bytes read at 100 GB/s 10 µs: gather-bound; 4 ms measured
        var f = Roofline.Fraction(new PhaseWork(1e6, 0, 1e6, 2e6, 0, 1000), 4e-3, bounds, clientSide: true);
        Assert.That(f.Bound, Is.EqualTo("gather"));
        Assert.That(f.Fraction, Is.EqualTo(0.25).Within(1e-12));
        // 1e8 bytes with a third written, a 100 MB working set: DRAM triad, 12.5 ms at 8 GB/s; server side (one core)
        var g = Roofline.Fraction(new PhaseWork(2e8 / 3, 1e8 / 3, 0, 0, 0, 1e8), 25e-3, bounds, clientSide: false);
        Assert.That(g.Bound, Is.EqualTo("DRAM triad"));
        Assert.That(g.Fraction, Is.EqualTo(0.5).Within(1e-12));
        Assert.That(bounds.LevelOf(10e6, 2), Is.EqualTo(MemoryLevel.L3));
        Assert.That(bounds.LevelOf(1e6, 2), Is.EqualTo(MemoryLevel.L2));
    }

    [Test]
    public void Dense500_is_the_seeded_dense_shape()
    {
        var data = SyntheticDataset.Named("dense500")!;
        Assert.That((data.Samples, data.Features, data.RowPointers[^1]), Is.EqualTo((600, 500, 300_000L)));
        Assert.That(data.Values.All(v => Math.Abs(v) >= 100 && Math.Abs(v) <= 1000), Is.True);
        Assert.That(data.Labels.Count(l => l > 0), Is.InRange(100, 500));
        Assert.That(SyntheticDataset.Dense500().Values, Is.EqualTo(data.Values));
        var split = ClientSplit.Split(data, SyntheticDataset.Dense500Clients, 123);
        Assert.That(split.Clients.Select(c => c.Samples), Is.All.EqualTo(12));
        Assert.That(SyntheticDataset.Named("w8a"), Is.Null);
    }
}
