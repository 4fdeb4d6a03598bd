using Fednl.Clients;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Kernels;

namespace Fednl.Algorithms;

/// <summary>
/// What an in-process training run holds during its rounds, from d, the clients' rows and their Hessian path, so
/// that a run that cannot fit is refused before it starts. For d up to <see cref="MeasuredFeatures"/> each client's
/// Hessian plan is measured (not built); above it, where measuring alone needs about 25·D bytes, the plan is
/// bounded from the row pairs Σ_j nnz_j(nnz_j+1)/2 and D = d(d+1)/2.
/// </summary>
public static class MemoryEstimate
{
    /// <summary>The largest d: FedNL keeps the D = d(d+1)/2 Hessian entries in one array indexed by int.</summary>
    public const int MaxFeatures = 65535;

    /// <summary>The largest d whose plans are measured exactly (the measuring workspace is then at most 250 MB).</summary>
    public const int MeasuredFeatures = 4096;

    /// <summary>Throws <see cref="TrainingTooLargeException"/> when d is above <see cref="MaxFeatures"/>.</summary>
    public static void CheckFeatures(int d)
    {
        if (d > MaxFeatures)
            throw new TrainingTooLargeException($"d = {d} features is more than FedNL supports ({MaxFeatures}): " +
                                                "the d(d+1)/2 Hessian entries are kept in one array", 0, 0);
    }

    /// <summary>Bytes the run needs beyond the data it is given (d must be at most <see cref="MaxFeatures"/>).</summary>
    public static long TrainingBytes(IReadOnlyList<Dataset> clients, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(options);
        if (clients.Count == 0) return 0;
        int d = clients[0].Features;
        CheckFeatures(d);
        long packed = (long)d * (d + 1) / 2;
        var spec = new CompressorSpec(options.Compressor, d, options.KMultiplier, clients.Count);
        // Server: H, its snapshot and the Cholesky workspace.
        long bytes = 8 * (2 * packed + SolveWorkspaceLength(d));
        long maxPattern = 0, maxDenseWorkspace = 0, maxSamples = 0, planWorkspace = 0;
        foreach (var client in clients)
        {
            bool dense = FedNLClient.ChoosesDense(client, options.HessianPath);
            var (words, pattern) = dense || d <= MeasuredFeatures
                ? HessianPlan.Measure(new CsrSpan(client.RowPointers, client.ColumnIndices, client.Values, d), dense)
                : PlanBound(client, packed);
            // Building a sparse plan borrows a workspace, one client at a time.
            if (!dense) planWorkspace = Math.Max(planWorkspace, 8 * Interop.NativeMethods.fednl_hessian_plan_workspace(client.Samples, d));
            // The plan, its pattern's offsets (a dense plan has none) and H_i; on the dense path a dense copy of the rows.
            bytes += 8 * words + (dense ? 8 : 12) * pattern + (dense ? 8L * client.Samples * d : 0);
            // The round's message: ∇f_i and S_i (all D values for identical and natural, K values and indices otherwise).
            bytes += 8L * d + (spec.IsDense ? 8 * packed : 12 * spec.K);
            maxPattern = Math.Max(maxPattern, pattern);
            maxSamples = Math.Max(maxSamples, client.Samples);
            if (dense) maxDenseWorkspace = Math.Max(maxDenseWorkspace, LogisticOracle.DenseWorkspaceLength(client.Samples, d));
        }
        // Each worker: a packed matrix, a Hessian over the longest pattern, the compressor's and the dense oracle's workspace.
        long workers = Math.Clamp(options.Threads, 1, clients.Count);
        long perWorker = 8 * (packed + maxPattern + maxDenseWorkspace + 2 * maxSamples)
                         + 8 * HessianCompressor.WorkspaceLength(spec, maxPattern);
        return bytes + workers * perWorker + planWorkspace;
    }

    /// <summary>A sparse plan's words and pattern length at most (the layout of native/src/hessian/plan_build.c).</summary>
    internal static (long Words, long PatternLength) PlanBound(Dataset data, long packed)
    {
        long pairs = 0;
        for (int j = 0; j < data.Samples; j++)
        {
            long nnz = data.RowPointers[j + 1] - data.RowPointers[j];
            pairs += nnz * (nnz + 1) / 2;
        }
        long pattern = Math.Min(packed, pairs);
        const long lanes = 8;
        return (64 + data.Features + packed / 32 + 3 * (pattern + lanes) + 3 * (pairs + lanes * pattern) / 2, pattern);
    }

    /// <summary>
    /// Memory this process can still use: the smaller of the machine's available memory (Linux: MemAvailable) and
    /// what the runtime may use (a container's limit) less what this process already holds.
    /// </summary>
    public static long AvailableBytes()
    {
        var info = GC.GetGCMemoryInfo();
        long limit = info.TotalAvailableMemoryBytes - Environment.WorkingSet;
        long machine = LinuxMemAvailable() ?? info.TotalAvailableMemoryBytes - info.MemoryLoadBytes;
        return Math.Max(0, Math.Min(limit, machine));
    }

    /// <summary>"6.4 GB", "512 MB": a size for a message.</summary>
    public static string Format(long bytes) => bytes >= 1L << 30
        ? $"{bytes / (double)(1L << 30):F1} GB"
        : $"{Math.Max(1, (bytes + (1L << 20) - 1) >> 20)} MB";

    private static long SolveWorkspaceLength(int d)
    {
        Interop.FednlNative.EnsureLoaded();
        return Interop.NativeMethods.fednl_packed_solve_workspace(d);
    }

    private static long? LinuxMemAvailable()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(13).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}

/// <summary>A run that cannot start: its model dimension is out of range, or its memory estimate exceeds the limit.</summary>
public sealed class TrainingTooLargeException : Exception
{
    public TrainingTooLargeException(string message, long requiredBytes, long availableBytes) : base(message)
    {
        RequiredBytes = requiredBytes;
        AvailableBytes = availableBytes;
    }

    /// <summary>The estimate (<see cref="MemoryEstimate.TrainingBytes"/>); 0 when d alone is out of range.</summary>
    public long RequiredBytes { get; }

    /// <summary>The limit it was held against.</summary>
    public long AvailableBytes { get; }
}
