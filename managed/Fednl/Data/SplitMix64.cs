namespace Fednl.Data;

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
