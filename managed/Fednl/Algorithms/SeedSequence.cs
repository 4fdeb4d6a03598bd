using Fednl.Compression;

namespace Fednl.Algorithms;

/// <summary>
/// Derives the seed of every random draw from the run's seed and the draw's coordinates (client, round, purpose),
/// so results do not depend on thread scheduling and a receiver can regenerate what a sender drew.
/// </summary>
public static class SeedSequence
{
    /// <summary>Seed of client <paramref name="client"/>'s compressor in round <paramref name="round"/>.</summary>
    public static ulong Compressor(ulong runSeed, int client, int round) => Mix(Mix(Mix(runSeed, 0xC0FFEE) ^ (ulong)client, 0x5EED) ^ (ulong)round, 1);

    /// <summary>
    /// Seed of PermK's permutation in round <paramref name="round"/>: one per round, the same for every client, so that
    /// the clients' blocks of it are disjoint and a receiver regenerates any client's block.
    /// </summary>
    public static ulong PermK(ulong runSeed, int round) => Mix(Mix(runSeed, 0x9E4A17) ^ (ulong)round, 3);

    /// <summary>The seed client <paramref name="client"/>'s compressor of <paramref name="kind"/> uses in round <paramref name="round"/>.</summary>
    public static ulong CompressorFor(CompressorKind kind, ulong runSeed, int client, int round) =>
        kind == CompressorKind.PermK ? PermK(runSeed, round) : Compressor(runSeed, client, round);

    /// <summary>Seed of FedNL-PP's client sampling in round <paramref name="round"/>.</summary>
    public static ulong Sampling(ulong runSeed, int round) => Mix(Mix(runSeed, 0x5A3F1E) ^ (ulong)round, 2);

    /// <summary>splitmix64's finaliser over (value + salt · golden ratio).</summary>
    private static ulong Mix(ulong value, ulong salt)
    {
        ulong z = value + salt * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>A small deterministic generator (splitmix64) for the server's own draws, e.g. FedNL-PP's sampling.</summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) without modulo bias.</summary>
    public int NextBelow(int bound)
    {
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)bound;
        ulong v;
        do v = Next(); while (v >= limit);
        return (int)(v % (ulong)bound);
    }

    /// <summary>Writes <paramref name="sample"/>.Length distinct values of [0, n) in ascending order (Floyd's algorithm).</summary>
    public void SampleWithoutReplacement(int n, Span<int> sample, Span<bool> chosen)
    {
        chosen[..n].Clear();
        for (int j = n - sample.Length; j < n; j++)
        {
            int t = NextBelow(j + 1);
            if (chosen[t]) chosen[j] = true;
            else chosen[t] = true;
        }
        int count = 0;
        for (int i = 0; i < n && count < sample.Length; i++)
            if (chosen[i]) sample[count++] = i;
    }
}
