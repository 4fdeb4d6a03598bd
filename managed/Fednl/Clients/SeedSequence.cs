using Fednl.Compression;

namespace Fednl.Clients;

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
