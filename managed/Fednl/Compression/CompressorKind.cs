namespace Fednl.Compression;

/// <summary>The compressors of spec section 4 (values match the native fednl_compressor_kind).</summary>
public enum CompressorKind
{
    Identical = 0,
    TopK = 1,
    TopLEK = 2,
    RandK = 3,
    RandSeqK = 4,
    Natural = 5,
    PermK = 6,
}

public static class CompressorKindNames
{
    /// <summary>The command-line spelling: identical, topk, toplek, randk, randseqk, natural, permk.</summary>
    public static string ToFlag(this CompressorKind kind) => kind.ToString().ToLowerInvariant();

    public static bool TryParse(string text, out CompressorKind kind)
    {
        foreach (var candidate in Enum.GetValues<CompressorKind>())
        {
            if (string.Equals(candidate.ToFlag(), text, StringComparison.OrdinalIgnoreCase))
            {
                kind = candidate;
                return true;
            }
        }
        kind = default;
        return false;
    }

    public static string AllFlags => string.Join("|", Enum.GetValues<CompressorKind>().Select(k => k.ToFlag()));
}
