using Fednl.Algorithms;

namespace Fednl.Data;

/// <summary>How samples that do not divide evenly among clients are treated.</summary>
public enum SplitMode
{
    /// <summary>Every client gets ⌊N/n⌋ samples; the N mod n left over are dropped and reported (spec section 2).</summary>
    DropRemainder,
    /// <summary>Every sample is kept: the first N mod n clients get one more. f stays the mean of client means.</summary>
    KeepAll,
}

/// <summary>The result of splitting a dataset among clients.</summary>
public sealed record ClientSplitResult(IReadOnlyList<Dataset> Clients, int[] Permutation, long DroppedSamples, SplitMode Mode)
{
    /// <summary>Sample indices (into the source) client <paramref name="client"/> holds, in order.</summary>
    public ReadOnlySpan<int> RowsOf(int client)
    {
        int start = 0;
        for (int i = 0; i < client; i++) start += Clients[i].Samples;
        return Permutation.AsSpan(start, Clients[client].Samples);
    }
}

/// <summary>
/// Splits a dataset into n clients: a seeded Fisher–Yates permutation of the samples, then consecutive blocks of it.
/// The same (data, n, seed) gives the same clients on every machine, so a networked client can take its own slice.
/// </summary>
public static class ClientSplit
{
    public static ClientSplitResult Split(Dataset data, int clients, ulong seed, SplitMode mode = SplitMode.DropRemainder)
    {
        var sizes = Sizes(data, clients, mode);
        var permutation = Permutation(data.Samples, seed);
        var result = new Dataset[clients];
        int start = 0;
        for (int i = 0; i < clients; i++)
        {
            result[i] = data.SelectRows(permutation.AsSpan(start, sizes[i]), $"{data.Name}[client {i}]");
            start += sizes[i];
        }
        return new ClientSplitResult(result, permutation, data.Samples - start, mode);
    }

    /// <summary>One client's slice, identical to <see cref="Split"/>'s client <paramref name="client"/>.</summary>
    public static Dataset SliceFor(Dataset data, int clients, ulong seed, int client, SplitMode mode = SplitMode.DropRemainder)
    {
        if (client < 0 || client >= clients) throw new ArgumentOutOfRangeException(nameof(client), client, $"client id must be in [0, {clients})");
        var sizes = Sizes(data, clients, mode);
        var permutation = Permutation(data.Samples, seed);
        int start = sizes.Take(client).Sum();
        return data.SelectRows(permutation.AsSpan(start, sizes[client]), $"{data.Name}[client {client}]");
    }

    private static int[] Sizes(Dataset data, int clients, SplitMode mode)
    {
        if (clients <= 0) throw new ArgumentOutOfRangeException(nameof(clients), clients, "clients must be >= 1");
        if (clients > data.Samples) throw new ArgumentException($"clients ({clients}) exceed samples ({data.Samples}) in {data.Name}");
        int each = data.Samples / clients, extra = data.Samples % clients;
        return Enumerable.Range(0, clients).Select(i => mode == SplitMode.KeepAll && i < extra ? each + 1 : each).ToArray();
    }

    /// <summary>Fisher–Yates over 0..N−1 driven by splitmix64 seeded with <paramref name="seed"/>.</summary>
    public static int[] Permutation(int samples, ulong seed)
    {
        var p = new int[samples];
        for (int i = 0; i < samples; i++) p[i] = i;
        var random = new SplitMix64(seed);
        for (int i = samples - 1; i > 0; i--)
        {
            int j = random.NextBelow(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>
    /// Checks a split: clients are disjoint, together exactly the kept prefix of the permutation, and each client row is
    /// a bit-exact copy of its source row (indices, values, label). Throws <see cref="InvalidDataException"/> naming
    /// the first difference.
    /// </summary>
    public static void Verify(Dataset data, ClientSplitResult split)
    {
        var seen = new bool[data.Samples];
        long kept = 0;
        for (int i = 0; i < split.Clients.Count; i++)
        {
            var client = split.Clients[i];
            var rows = split.RowsOf(i);
            for (int t = 0; t < rows.Length; t++)
            {
                int r = rows[t];
                if (seen[r]) throw new InvalidDataException($"split check: sample {r} is held by two clients (client {i})");
                seen[r] = true;
                if (client.Labels[t] != data.Labels[r]
                    || !client.RowIndices(t).SequenceEqual(data.RowIndices(r))
                    || !BitEqual(client.RowValues(t), data.RowValues(r)))
                    throw new InvalidDataException($"split check: client {i} row {t} differs from source sample {r}");
            }
            kept += rows.Length;
        }
        if (kept + split.DroppedSamples != data.Samples)
            throw new InvalidDataException($"split check: {kept} kept + {split.DroppedSamples} dropped != {data.Samples} samples");
    }

    private static bool BitEqual(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i])) return false;
        return true;
    }
}
