using System.Diagnostics;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Data;
using Fednl.Kernels;

namespace Fednl.Reporting;

/// <summary>Which level of the memory hierarchy a working set lives in.</summary>
public enum MemoryLevel
{
    L2,
    L3,
    Dram,
}

/// <summary>A measured rate (work per second) on one thread and on every core at once (summed over the threads).</summary>
public sealed record Rate(double PerCore, double AllCores, int Threads)
{
    /// <summary>All cores over one core: about the thread count when the threads run on separate physical cores.</summary>
    public double Scaling => AllCores / PerCore;

    /// <summary>What one core gets while every core runs the loop (the share a worker thread has under load).</summary>
    public double PerCoreUnderLoad => AllCores / Threads;
}

/// <summary>
/// This machine's bounds, measured with the kernel's probes (<see cref="MachineProbe"/>): streaming bandwidth from
/// L2, L3 and DRAM (read, and the triad-like update y += s·x), FMA, gather (vgatherdpd of an L1-resident table,
/// like the Hessian plan's row weights) and exp (the oracle's loss-and-sigmoid step) throughput. Each probe runs on
/// one thread, then on <see cref="Threads"/> threads at once, each with its own buffers; the best of five timed
/// runs counts. Bytes per second, FMAs, gathers and exps per second.
/// </summary>
public sealed record MachineBounds
{
    public required int Threads { get; init; }
    public required long L2CacheBytes { get; init; }
    public required long L3CacheBytes { get; init; }
    public required Rate L2Read { get; init; }
    public required Rate L2Triad { get; init; }
    public required Rate L3Read { get; init; }
    public required Rate L3Triad { get; init; }
    public required Rate DramRead { get; init; }
    public required Rate DramTriad { get; init; }
    public required Rate Fma { get; init; }
    public required Rate Gather { get; init; }
    public required Rate Exp { get; init; }

    /// <summary>The 1-minute load average when the measurement started (null when unknown): other processes' demand.</summary>
    public double? LoadAverageAtStart { get; init; }

    public Rate Read(MemoryLevel level) => level switch { MemoryLevel.L2 => L2Read, MemoryLevel.L3 => L3Read, _ => DramRead };
    public Rate Triad(MemoryLevel level) => level switch { MemoryLevel.L2 => L2Triad, MemoryLevel.L3 => L3Triad, _ => DramTriad };

    /// <summary>
    /// The level a working set of <paramref name="bytes"/> that is swept once per round lives in: L2 when it fits in
    /// three quarters of the threads' L2 caches together, L3 when it fits in three quarters of L3, DRAM otherwise.
    /// </summary>
    public MemoryLevel LevelOf(double bytes, int threads) =>
        bytes <= 0.75 * L2CacheBytes * threads ? MemoryLevel.L2 : bytes <= 0.75 * L3CacheBytes ? MemoryLevel.L3 : MemoryLevel.Dram;

    /// <summary>
    /// Measures the bounds with <paramref name="threads"/> threads for "all cores" (default: every core); each timed
    /// run lasts about <paramref name="seconds"/>.
    /// </summary>
    public static MachineBounds Measure(int threads = 0, double seconds = 0.1)
    {
        if (threads <= 0) threads = Environment.ProcessorCount;
        if (!(seconds > 0)) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "must be positive");
        long l2 = CacheBytes(2) ?? (1L << 20), l3 = CacheBytes(3) ?? (32L << 20);
        // doubles per buffer: a quarter of L2 for L2, a quarter of L3 per thread for L3, four times L3 for DRAM
        // (triad: two buffers of half that each)
        long l2Doubles = l2 / 4 / 8, l3Doubles = Math.Max(l3 / 4 / 8 / threads, 4 * l2Doubles), dramDoubles = 4 * l3 / 8;
        Rate Both(Func<Func<long, long>> loop) => Time(threads, loop, seconds);
        return new MachineBounds
        {
            LoadAverageAtStart = LoadAverage(),
            Threads = threads,
            L2CacheBytes = l2,
            L3CacheBytes = l3,
            L2Read = Both(() => ReadLoop(l2Doubles)),
            L2Triad = Both(() => TriadLoop(l2Doubles / 2)),
            L3Read = Both(() => ReadLoop(l3Doubles)),
            L3Triad = Both(() => TriadLoop(l3Doubles / 2)),
            DramRead = Both(() => ReadLoop(dramDoubles)),
            DramTriad = Both(() => TriadLoop(dramDoubles / 2)),
            Fma = Both(() => passes => MachineProbe.Fma(1000 * passes, out _)),
            Gather = Both(GatherLoop),
            Exp = Both(ExpLoop),
        };
    }

    private static Func<long, long> ReadLoop(long doubles)
    {
        var source = new double[doubles];
        Array.Fill(source, 1.0);
        return passes => MachineProbe.StreamRead(source, passes, out _);
    }

    private static Func<long, long> TriadLoop(long doubles)
    {
        var source = new double[doubles];
        var target = new double[doubles];
        Array.Fill(source, 1.0);
        return passes => MachineProbe.StreamTriad(source, target, passes, out _);
    }

    /// <summary>32 Ki indices (uint32, 128 KiB: about a w8a client's plan) into a table of 512 row weights.</summary>
    private static Func<long, long> GatherLoop()
    {
        var random = new SplitMix64(7);
        var indices = new int[32768];
        for (int k = 0; k < indices.Length; k++) indices[k] = (int)(random.Next() % 512);
        var table = new double[512];
        for (int k = 0; k < table.Length; k++) table[k] = 1.0 / (k + 1);
        return passes => MachineProbe.Gather(indices, table, passes, out _);
    }

    /// <summary>4096 margins spread over [−8, 8], both signs, as a logistic oracle's are.</summary>
    private static Func<long, long> ExpLoop()
    {
        var random = new SplitMix64(11);
        var z = new double[4096];
        for (int k = 0; k < z.Length; k++) z[k] = 16.0 * ((random.Next() >> 11) * (1.0 / (1UL << 53))) - 8.0;
        return passes => MachineProbe.Exp(z, passes, out _);
    }

    /// <summary>
    /// Work per second of the loop on one thread and on <paramref name="threads"/> threads at once, each thread with
    /// its own instance: the passes are calibrated on one instance to take about <paramref name="seconds"/>, then
    /// one-thread and all-threads runs alternate five times (so drifting load from neighbours hits both alike) and the
    /// best of each counts (total work over the slowest thread's time).
    /// </summary>
    private static Rate Time(int threads, Func<Func<long, long>> create, double seconds)
    {
        var loops = Enumerable.Range(0, threads).Select(_ => create()).ToArray();
        long passes = 1;
        while (true)
        {
            var clock = Stopwatch.StartNew();
            loops[0](passes);
            double elapsed = clock.Elapsed.TotalSeconds;
            if (elapsed >= seconds / 4 || passes > (1L << 40)) { passes = Math.Max(1, (long)Math.Ceiling(passes * seconds / Math.Max(elapsed, 1e-9))); break; }
            passes *= elapsed < seconds / 64 ? 16 : 4;
        }
        double one = 0, all = 0;
        for (int run = 0; run < Runs; run++)
        {
            one = Math.Max(one, Run(loops.AsSpan(0, 1).ToArray(), passes));
            all = Math.Max(all, Run(loops, passes));
        }
        return new Rate(one, all, threads);
    }

    private const int Runs = 5;

    /// <summary>Every loop on its own thread, started together; total work over the slowest thread's seconds.</summary>
    private static double Run(Func<long, long>[] loops, long passes)
    {
        int threads = loops.Length;
        var work = new long[threads];
        var elapsed = new double[threads];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            work[t] = loops[t](passes);
            elapsed[t] = clock.Elapsed.TotalSeconds;
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        return work.Sum() / Math.Max(elapsed.Max(), 1e-12);
    }

    /// <summary>The kernel's list of cpu0's hyper-thread siblings (Linux sysfs, e.g. "0" or "0,1"), or null.</summary>
    public static string? ReportedSiblings()
    {
        try
        {
            return File.ReadAllText("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list").Trim();
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The 1-minute load average (Linux /proc/loadavg), or null.</summary>
    public static double? LoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        catch (FormatException) { return null; }
    }

    /// <summary>Size of the CPU's level-2 or level-3 cache (Linux sysfs, cpu0), or null when it cannot be read.</summary>
    private static long? CacheBytes(int level)
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/sys/devices/system/cpu/cpu0/cache", "index*"))
            {
                if (File.ReadAllText(Path.Combine(dir, "level")).Trim() != level.ToString(System.Globalization.CultureInfo.InvariantCulture)) continue;
                string size = File.ReadAllText(Path.Combine(dir, "size")).Trim();
                long factor = size.EndsWith('K') ? 1024 : size.EndsWith('M') ? 1 << 20 : 1;
                return long.Parse(size.TrimEnd('K', 'M'), System.Globalization.CultureInfo.InvariantCulture) * factor;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        catch (FormatException) { }
        return null;
    }
}

/// <summary>
/// A phase's work in one round: bytes read and written, FMAs, gathers (indexed loads) and exps, and its working set
/// (the bytes it touches in a round: each client's own arrays plus one worker's scratch), which decides the memory
/// level its bytes come from.
/// </summary>
public sealed record PhaseWork(double ReadBytes, double WrittenBytes, double Fmas, double Gathers, double Exps, double Footprint = 0)
{
    public static readonly PhaseWork None = new(0, 0, 0, 0, 0);

    public double Bytes => ReadBytes + WrittenBytes;

    public static PhaseWork operator -(PhaseWork a, PhaseWork b) =>
        new(a.ReadBytes - b.ReadBytes, a.WrittenBytes - b.WrittenBytes, a.Fmas - b.Fmas, a.Gathers - b.Gathers, a.Exps - b.Exps,
            a.Footprint - b.Footprint);

    public static PhaseWork operator +(PhaseWork a, PhaseWork b) =>
        new(a.ReadBytes + b.ReadBytes, a.WrittenBytes + b.WrittenBytes, a.Fmas + b.Fmas, a.Gathers + b.Gathers, a.Exps + b.Exps,
            a.Footprint + b.Footprint);
}

/// <summary>
/// What the work counts need of one client: its rows m, non-zeros Σ nnz_j, row pairs Σ nnz_j(nnz_j+1)/2 and pattern
/// length P (from its Hessian plan), the plan's bytes, whether it forms its Hessian densely (OpenBLAS) and whether its
/// values are other than 0/1 (so each gather is also multiplied); a dense client on the fused step (Fused) forms its
/// Hessian inside the compression pass instead.
/// </summary>
public sealed record ClientShape(int Rows, long Nonzeros, long Pairs, long PatternLength, long PlanBytes, bool Dense, bool Valued,
    bool Fused = false);

/// <summary>One round's work per phase, summed over the clients.</summary>
public sealed record RoundWork(PhaseWork Oracle, PhaseWork Hessian, PhaseWork Compression, PhaseWork Aggregation, PhaseWork Solve);

/// <summary>
/// The work of one FedNL round (option 2, every client answering) counted from the data's shape and the compressor,
/// as the kernels do it (docs/benchmarks.md, "Roofline", explains each term). d features, D = d(d+1)/2, K the
/// compressor's budget (D for the dense kinds), n clients.
/// </summary>
public static class WorkCounts
{
    public static RoundWork PerRound(IReadOnlyList<ClientShape> clients, int d, CompressorKind kind, long k)
    {
        double D = (double)d * (d + 1) / 2, dd = d;
        double kept = Math.Min(k, D);
        var oracle = PhaseWork.None;
        var hessian = PhaseWork.None;
        var compression = PhaseWork.None;
        double sent = 0, oracleScratch = 0, hessianScratch = 0, compressionScratch = 0;
        foreach (var c in clients)
        {
            double m = c.Rows, z = c.Nonzeros, P = c.PatternLength;
            if (c.Dense && c.Fused)
            {
                // margins A x and gradient Aᵀ coef (two passes over A), the row weights; one exp per row (the loss
                // step's, which also gives the gradient's coefficient and the row weight)
                oracle += new PhaseWork(ReadBytes: 2 * 8 * m * dd + 8 * m + 8 * dd, WrittenBytes: 24 * m + 8 * dd,
                    Fmas: 2 * m * dd, Gathers: 0, Exps: m, Footprint: 8 * m * dd + 8 * m);
                oracleScratch = Math.Max(oracleScratch, 16 * m);
                compression += FusedStepWork(m, d, D, kind, kept) with { Footprint = 8 * m * dd + 8 * D };
                compressionScratch = Math.Max(compressionScratch, 8 * D + 20 * Math.Min(kept, D));
                sent += kind is CompressorKind.Identical or CompressorKind.Natural ? D : kept;
                continue;
            }
            if (c.Dense)
            {
                // margins A x, gradient Aᵀ coef, rows scaled by sqrt(w_j), dsyrk into a full d x d, packed copy;
                // one exp per row (the loss step's)
                oracle += new PhaseWork(ReadBytes: 4 * 8 * m * dd + 8 * dd * dd + 8 * m + 8 * dd,
                    WrittenBytes: 8 * m * dd + 8 * dd * dd + 8 * D + 16 * m + 8 * dd,
                    Fmas: 3 * m * dd + m * dd * (dd + 1) / 2, Gathers: 0, Exps: m, Footprint: 8 * m * dd + 8 * m);
                oracleScratch = Math.Max(oracleScratch, 8 * (m * dd + dd * dd + D));
                // the dense plan copies the packed Hessian (both scratch)
                hessian += new PhaseWork(8 * D, 8 * D, 0, 0, 0);
                hessianScratch = Math.Max(hessianScratch, 16 * D);
            }
            else
            {
                // per row: a dot product and an axpy over its non-zeros (each gathers x or ∇f), one exp;
                // CSR values + columns, row pointers, labels, x read; margins, weights, ∇f written
                oracle += new PhaseWork(ReadBytes: 12 * z + 8 * (m + 1) + 8 * m + 8 * dd, WrittenBytes: 16 * m + 8 * dd,
                    Fmas: 2 * z, Gathers: 2 * z, Exps: m, Footprint: 12 * z + 16 * m);
                oracleScratch = Math.Max(oracleScratch, 16 * m + 16 * dd);
                // one gather of a row weight per row pair (multiplied too when the values are not 0/1); the plan read
                hessian += new PhaseWork(c.PlanBytes + 8 * (m + 1), 8 * P, c.Valued ? c.Pairs : 0, c.Pairs, 0, c.PlanBytes);
                hessianScratch = Math.Max(hessianScratch, 8 * P + 8 * m);
            }
            compression += CompressionWork(P, d, D, kind, kept) with { Footprint = 8 * P };
            compressionScratch = Math.Max(compressionScratch, 8 * P + 20 * Math.Min(kept, P));
            sent += kind is CompressorKind.Identical or CompressorKind.Natural ? P : kept;
        }
        double n = clients.Count;
        oracle = oracle with { Footprint = oracle.Footprint + oracleScratch };
        hessian = hessian with { Footprint = hessian.Footprint + hessianScratch };
        compression = compression with { Footprint = compression.Footprint + compressionScratch };
        // means of f_i, l_i, ∇f_i; then H[index] += (α/n) value for every entry each client sent
        var aggregation = new PhaseWork(8 * n * dd + 12 * sent, 8 * dd, n * dd + sent, sent, 0, 8 * D + 12 * sent + 8 * n * dd);
        // unpack to a full matrix, dpotrf (d³/6 FMAs), two triangular solves (d² in all)
        var solve = new PhaseWork(8 * D, 8 * dd * dd, dd * dd * dd / 6 + dd * dd, 0, 0, 8 * D + 8 * dd * dd);
        return new RoundWork(oracle, hessian, compression, aggregation, solve);
    }

    /// <summary>
    /// A dense client's fused step (fednl_dense_shift_step): m·D multiply-adds form H from the m rows, in register
    /// tiles of four packed rows through an L1 buffer or strip by strip (the rows read from L1/L2, counted once; the
    /// tiles' padding on the triangle's edge is not counted); identical and natural finish the whole step in the same pass
    /// (read H_i, write H_i and the values; squares and the shift update are FMAs); topk and toplek take H written out
    /// and run the pattern step on it; the other kinds take M written out with its squares, then their selection.
    /// </summary>
    public static PhaseWork FusedStepWork(double m, int d, double D, CompressorKind kind, double kept)
    {
        var hessian = new PhaseWork(8 * m * d, 0, m * D, 0, 0);
        return kind switch
        {
            CompressorKind.Identical or CompressorKind.Natural => hessian + new PhaseWork(8 * D, 16 * D, 2 * D, 0, 0),
            CompressorKind.TopK or CompressorKind.TopLEK => hessian + new PhaseWork(0, 8 * D, 0, 0, 0) + CompressionWork(D, d, D, kind, kept),
            _ => hessian + new PhaseWork(8 * D, 8 * D, D, d, 0) + (CompressionWork(D, d, D, kind, kept) - new PhaseWork(16 * D, 8 * D, D, d, 0)),
        };
    }

    /// <summary>One client's shift step over its P pattern entries (fednl_pattern_shift_step), K' = min(K, D).</summary>
    public static PhaseWork CompressionWork(double P, int d, double D, CompressorKind kind, double kept)
    {
        // M = H − H_i over the pattern with Σ M² (read 2P, write P), then the diagonal's squares (d gathers)
        var work = new PhaseWork(16 * P, 8 * P, P, d, 0);
        double selected = Math.Min(kept, P);
        return work + kind switch
        {
            // S = M (or its stochastic rounding), H_i += α S: copy P values, then read S and H_i, write H_i
            CompressorKind.Identical or CompressorKind.Natural => new PhaseWork(24 * P, 16 * P, P, 0, 0),
            // keys (read M, write P keys), radix selection (two passes over the keys), then the K' kept entries:
            // gather M and H_i, write index and value
            CompressorKind.TopK or CompressorKind.TopLEK => new PhaseWork(8 * P + 16 * P, 8 * P + 12 * selected, selected, 2 * selected, 0),
            // K indices drawn into a D-bit map, then per index its pattern position by popcount: gather M, update H_i
            CompressorKind.RandK => new PhaseWork(4 * kept, 4 * kept + D / 8 + 8 * kept, kept, 2 * kept, 0),
            // the D-entry permutation written, about D/2 Fisher-Yates swaps (read and write two int32 each) until the
            // client's block is fixed, then per kept index RandK's popcount, gather of M and update of H_i
            CompressorKind.PermK => new PhaseWork(4 * D + 4 * kept, 8 * D + 8 * kept, kept, 2 * kept + D / 2, 0),
            // a window of K consecutive packed entries, about K·P/D of them on the pattern: read M and H_i there,
            // write H_i there, K values and K indices
            _ => new PhaseWork(16 * kept * P / D, 8 * kept * P / D + 12 * kept, kept * P / D, 0, 0),
        };
    }
}

/// <summary>A phase's achieved rate against the bound it is limited by.</summary>
public sealed record PhaseFraction(string Bound, double Fraction, double AchievedRate, string Unit);

/// <summary>
/// Roofline of a phase: for each resource its time at the bound (work / rate); the largest is the bound the phase is
/// limited by; the fraction is that time over the phase's measured seconds per round (achieved rate over the bound).
/// Client phases (CPU seconds summed over the workers) are held to one core's share of the all-cores rate; the
/// server's phases (one thread) to the one-core rate. Bytes count against the read rate, or the triad rate when more
/// than a tenth of them are written, at the level the phase's working set lives in (<see cref="MachineBounds.LevelOf"/>).
/// </summary>
public static class Roofline
{
    public static PhaseFraction Fraction(PhaseWork work, double secondsPerRound, MachineBounds bounds, bool clientSide)
    {
        var level = bounds.LevelOf(work.Footprint, clientSide ? bounds.Threads : 1);
        double Of(Rate r) => clientSide ? r.PerCoreUnderLoad : r.PerCore;
        bool writes = work.WrittenBytes > 0.1 * work.Bytes;
        string levelName = level switch { MemoryLevel.L2 => "L2", MemoryLevel.L3 => "L3", _ => "DRAM" };
        var candidates = new (string Name, double Work, double Rate, string Unit)[]
        {
            ($"{levelName} {(writes ? "triad" : "read")}", work.Bytes, Of(writes ? bounds.Triad(level) : bounds.Read(level)), "GB/s"),
            ("FMA", work.Fmas, Of(bounds.Fma), "G/s"),
            ("gather", work.Gathers, Of(bounds.Gather), "G/s"),
            ("exp", work.Exps, Of(bounds.Exp), "G/s"),
        };
        var limit = candidates.MaxBy(c => c.Work / c.Rate);
        if (!(secondsPerRound > 0) || limit.Work <= 0) return new PhaseFraction(limit.Name, double.NaN, double.NaN, limit.Unit);
        double achieved = limit.Work / secondsPerRound;
        return new PhaseFraction(limit.Name, achieved / limit.Rate, achieved / 1e9, limit.Unit);
    }
}
