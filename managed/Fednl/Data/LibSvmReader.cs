using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Fednl.Data;

/// <summary>
/// Reads LIBSVM text ("label idx:val idx:val …", 1-based ascending indices) into a <see cref="Dataset"/>. The file is
/// read as bytes and parsed from spans: no allocation per token. Every malformed input is an error naming the file,
/// line and token; nothing is skipped silently. Two label values map to −1 (smaller) and +1 (larger).
/// </summary>
public static class LibSvmReader
{
    /// <summary>Reads <paramref name="path"/>; d is the largest index seen (or <paramref name="minFeatures"/> if larger).</summary>
    public static Dataset Read(string path, bool addIntercept = false, int minFeatures = 0)
    {
        string name = Path.GetFileName(path);
        if (Directory.Exists(path)) throw new LibSvmFormatException(path, 0, "", "is a directory, not a LIBSVM file");
        if (!System.IO.File.Exists(path)) throw new LibSvmFormatException(path, 0, "", "no such file");
        var data = Parse(System.IO.File.ReadAllBytes(path), path, name, minFeatures);
        return addIntercept ? data.WithIntercept() : data;
    }

    /// <summary>Parses LIBSVM text already in memory; <paramref name="file"/> names it in messages.</summary>
    public static Dataset Parse(ReadOnlySpan<byte> text, string file, string name, int minFeatures = 0)
    {
        var rowPointers = new List<long> { 0 };
        var indices = new List<int>(text.Length / 8);
        var values = new List<double>(text.Length / 8);
        var rawLabels = new List<double>();
        int maxIndex = 0, lineNumber = 0;
        if (text.StartsWith("\uFEFF"u8)) text = text[3..]; // a UTF-8 byte order mark

        while (!text.IsEmpty)
        {
            lineNumber++;
            int end = text.IndexOf((byte)'\n');
            var line = end < 0 ? text : text[..end];
            text = end < 0 ? ReadOnlySpan<byte>.Empty : text[(end + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];

            var rest = TrimStart(line);
            if (rest.IsEmpty) continue; // blank line
            var labelToken = NextToken(ref rest);
            rawLabels.Add(ParseNumber(labelToken, file, lineNumber, "label is not a number"));

            int previous = 0;
            while (true)
            {
                rest = TrimStart(rest);
                if (rest.IsEmpty) break;
                var token = NextToken(ref rest);
                int colon = token.IndexOf((byte)':');
                if (colon < 0) throw Error(file, lineNumber, token, "expected index:value");
                var indexText = token[..colon];
                if (!Utf8Parser.TryParse(indexText, out int index, out int consumed) || consumed != indexText.Length)
                    throw Error(file, lineNumber, token, "index is not an integer");
                if (index <= 0) throw Error(file, lineNumber, token, $"index must be >= 1, got {index}");
                if (index <= previous) throw Error(file, lineNumber, token, $"indices must ascend, {index} follows {previous}");
                previous = index;
                double value = ParseNumber(token[(colon + 1)..], file, lineNumber, "value is not a number", token);
                indices.Add(index - 1);
                values.Add(value);
                if (index > maxIndex) maxIndex = index;
            }
            rowPointers.Add(indices.Count);
        }

        if (rawLabels.Count == 0) throw new LibSvmFormatException(file, 0, "", "no samples (the file is empty)");
        var labels = MapLabels(rawLabels, file);
        int features = Math.Max(Math.Max(maxIndex, minFeatures), 1);
        return new Dataset(name, features, rowPointers.ToArray(), indices.ToArray(), values.ToArray(), labels);
    }

    /// <summary>Exactly two label values: the smaller becomes −1, the larger +1.</summary>
    private static double[] MapLabels(List<double> raw, string file)
    {
        var distinct = raw.Distinct().Order().Take(3).ToArray();
        if (distinct.Length != 2)
        {
            string found = string.Join(", ", raw.Distinct().Order().Take(5).Select(v => v.ToString(CultureInfo.InvariantCulture)));
            throw new LibSvmFormatException(file, 0, "", distinct.Length == 1
                ? $"needs two label values, found one ({found})"
                : $"needs two label values, found more ({found}{(raw.Distinct().Count() > 5 ? ", …" : "")})");
        }
        var labels = new double[raw.Count];
        for (int j = 0; j < raw.Count; j++) labels[j] = raw[j] == distinct[0] ? -1.0 : 1.0;
        return labels;
    }

    private static double ParseNumber(ReadOnlySpan<byte> token, string file, int line, string problem, ReadOnlySpan<byte> shown = default)
    {
        if (IsNonFiniteWord(token)) throw Error(file, line, shown.IsEmpty ? token : shown, "NaN or infinity is not allowed");
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw Error(file, line, shown.IsEmpty ? token : shown, problem);
        if (!double.IsFinite(value)) throw Error(file, line, shown.IsEmpty ? token : shown, "NaN or infinity is not allowed");
        return value;
    }

    /// <summary>inf, infinity or nan in any case, with an optional sign: spelled as numbers, but not finite.</summary>
    private static bool IsNonFiniteWord(ReadOnlySpan<byte> token)
    {
        if (!token.IsEmpty && token[0] is (byte)'+' or (byte)'-') token = token[1..];
        return Ascii.EqualsIgnoreCase(token, "inf"u8) || Ascii.EqualsIgnoreCase(token, "infinity"u8) || Ascii.EqualsIgnoreCase(token, "nan"u8);
    }

    private static ReadOnlySpan<byte> TrimStart(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && (s[i] == (byte)' ' || s[i] == (byte)'\t')) i++;
        return s[i..];
    }

    private static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && s[i] != (byte)' ' && s[i] != (byte)'\t') i++;
        var token = s[..i];
        s = s[i..];
        return token;
    }

    private static LibSvmFormatException Error(string file, int line, ReadOnlySpan<byte> token, string problem) =>
        new(file, line, Encoding.UTF8.GetString(token), problem);
}
