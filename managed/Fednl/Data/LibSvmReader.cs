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
        return Parse(System.IO.File.ReadAllBytes(path), path, name, minFeatures, addIntercept);
    }

    /// <summary>
    /// Parses LIBSVM text already in memory; <paramref name="file"/> names it in messages. With
    /// <paramref name="addIntercept"/> a constant 1.0 is appended to every row as feature d (as
    /// <see cref="Dataset.WithIntercept"/> does), without a second copy of the data.
    /// </summary>
    public static Dataset Parse(ReadOnlySpan<byte> text, string file, string name, int minFeatures = 0, bool addIntercept = false)
    {
        if (text.StartsWith("\uFEFF"u8)) text = text[3..]; // a UTF-8 byte order mark
        // The arrays are sized before parsing, so the data is held once: at most one row per line, and exactly one
        // entry per ':' in a well-formed file (anything else fails below). Only unusual files (blank lines) are trimmed.
        int lines = text.Count((byte)'\n') + (text.IsEmpty || text[^1] != (byte)'\n' ? 1 : 0); // a last line unended too
        long colons = text.Count((byte)':') + (addIntercept ? (long)lines : 0);
        if (colons > Array.MaxLength) throw new LibSvmFormatException(file, 0, "", $"has {colons} entries, more than an array holds");
        var rowPointers = new long[lines + 1];
        var indices = new int[colons];
        var values = new double[colons];
        var rawLabels = new double[lines];
        int rows = 0, entries = 0, maxIndex = 0, lineNumber = 0;

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
            rawLabels[rows] = ParseNumber(labelToken, file, lineNumber, "label is not a number");

            int previous = 0;
            while (true)
            {
                rest = TrimStart(rest);
                if (rest.IsEmpty) break;
                int index;
                double value;
                if (TryParsePlainEntry(rest, out index, out value, out int length))
                {
                    if (index <= previous) throw Error(file, lineNumber, rest[..length], $"indices must ascend, {index} follows {previous}");
                    rest = rest[length..];
                }
                else
                {
                    var token = NextToken(ref rest);
                    int colon = token.IndexOf((byte)':');
                    if (colon < 0) throw Error(file, lineNumber, token, "expected index:value");
                    var indexText = token[..colon];
                    if (!Utf8Parser.TryParse(indexText, out index, out int consumed) || consumed != indexText.Length)
                        throw Error(file, lineNumber, token, "index is not an integer");
                    if (index <= 0) throw Error(file, lineNumber, token, $"index must be >= 1, got {index}");
                    if (index <= previous) throw Error(file, lineNumber, token, $"indices must ascend, {index} follows {previous}");
                    value = ParseNumber(token[(colon + 1)..], file, lineNumber, "value is not a number", token);
                }
                previous = index;
                indices[entries] = index - 1;
                values[entries++] = value;
                if (index > maxIndex) maxIndex = index;
            }
            if (addIntercept) values[entries++] = 1.0; // its column, d, is known at the end
            rowPointers[++rows] = entries;
        }

        if (rows == 0) throw new LibSvmFormatException(file, 0, "", "no samples (the file is empty)");
        var labels = MapLabels(rawLabels.AsSpan(0, rows), file);
        int features = Math.Max(Math.Max(maxIndex, minFeatures), 1);
        if (addIntercept)
            for (int j = 1; j <= rows; j++) indices[rowPointers[j] - 1] = features;
        if (rows < lines) Array.Resize(ref rowPointers, rows + 1);
        if (entries < indices.Length)
        {
            Array.Resize(ref indices, entries);
            Array.Resize(ref values, entries);
        }
        return new Dataset(name, addIntercept ? features + 1 : features, rowPointers, indices, values, labels);
    }

    /// <summary>Exactly two label values: the smaller becomes −1, the larger +1.</summary>
    private static double[] MapLabels(ReadOnlySpan<double> raw, string file)
    {
        double first = raw[0], second = first;
        bool two = false;
        foreach (double v in raw)
        {
            if (v == first || (two && v == second)) continue;
            if (two) throw LabelError(raw, file);
            (second, two) = (v, true);
        }
        if (!two) throw LabelError(raw, file);
        double smaller = Math.Min(first, second);
        var labels = new double[raw.Length];
        for (int j = 0; j < raw.Length; j++) labels[j] = raw[j] == smaller ? -1.0 : 1.0;
        return labels;
    }

    /// <summary>The error for labels of one value or more than two, naming the first few in ascending order.</summary>
    private static LibSvmFormatException LabelError(ReadOnlySpan<double> raw, string file)
    {
        var distinct = new SortedSet<double>();
        foreach (double v in raw) distinct.Add(v);
        string found = string.Join(", ", distinct.Take(5).Select(v => v.ToString(CultureInfo.InvariantCulture)));
        return new LibSvmFormatException(file, 0, "", distinct.Count == 1
            ? $"needs two label values, found one ({found})"
            : $"needs two label values, found more ({found}{(distinct.Count > 5 ? ", …" : "")})");
    }

    private static double ParseNumber(ReadOnlySpan<byte> token, string file, int line, string problem, ReadOnlySpan<byte> shown = default)
    {
        if (TryParsePlainDecimal(token, out double plain)) return plain;
        if (IsNonFiniteWord(token)) throw Error(file, line, shown.IsEmpty ? token : shown, "NaN or infinity is not allowed");
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw Error(file, line, shown.IsEmpty ? token : shown, problem);
        if (!double.IsFinite(value)) throw Error(file, line, shown.IsEmpty ? token : shown, "NaN or infinity is not allowed");
        return value;
    }

    /// <summary>
    /// The common entry shape in one pass: "index:value" with an index of 1 to 9 digits (not 0) and a plain decimal
    /// value (<see cref="TryParsePlainDecimal"/>), ended by a blank or the line's end; <paramref name="length"/> is
    /// the entry's length. Anything else returns false and is parsed, or reported, token by token.
    /// </summary>
    private static bool TryParsePlainEntry(ReadOnlySpan<byte> text, out int index, out double value, out int length)
    {
        index = 0;
        value = 0;
        int i = 0;
        for (; i < text.Length && i < 9; i++)
        {
            uint digit = (uint)(text[i] - (byte)'0');
            if (digit > 9) break;
            index = index * 10 + (int)digit;
        }
        length = i;
        if (i == 0 || index == 0 || i >= text.Length || text[i] != (byte)':') return false;
        int end = i + 1;
        while (end < text.Length && text[end] != (byte)' ' && text[end] != (byte)'\t') end++;
        length = end;
        return TryParsePlainDecimal(text[(i + 1)..end], out value);
    }

    /// <summary>Exact powers of ten: 10^k for k ≤ 15 is a double without rounding.</summary>
    private static ReadOnlySpan<double> PowersOfTen =>
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// The common token shape, an optional sign, digits and an optional point with more digits, at most 15 digits in
    /// all: its digits m and the power 10^f both are doubles without rounding, so one division m / 10^f rounds
    /// once and gives the correctly rounded value, the bits double.Parse gives (Clinger's fast path). Anything else
    /// (exponents, longer tokens, stray characters) is left to double.TryParse.
    /// </summary>
    internal static bool TryParsePlainDecimal(ReadOnlySpan<byte> token, out double value)
    {
        value = 0;
        int i = 0;
        bool negative = false;
        if (!token.IsEmpty && token[0] is (byte)'+' or (byte)'-')
        {
            negative = token[0] == (byte)'-';
            i = 1;
        }
        long mantissa = 0;
        int digits = 0, fraction = 0;
        bool point = false;
        for (; i < token.Length; i++)
        {
            uint digit = (uint)(token[i] - (byte)'0');
            if (digit <= 9)
            {
                if (++digits > 15) return false;
                mantissa = mantissa * 10 + digit;
                if (point) fraction++;
            }
            else if (token[i] == (byte)'.' && !point)
            {
                point = true;
            }
            else
            {
                return false;
            }
        }
        if (digits == 0) return false;
        double magnitude = mantissa / PowersOfTen[fraction];
        value = negative ? -magnitude : magnitude;
        return true;
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
