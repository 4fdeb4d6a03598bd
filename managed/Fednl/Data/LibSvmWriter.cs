using System.Globalization;
using System.Text;

namespace Fednl.Data;

/// <summary>Writes samples as LIBSVM text (1-based indices, values that read back bit for bit).</summary>
public static class LibSvmWriter
{
    /// <summary>Writes the rows of <paramref name="parts"/> one after another (e.g. the clients of a split).</summary>
    public static void Write(string path, IEnumerable<Dataset> parts)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 16);
        var line = new StringBuilder();
        foreach (var data in parts)
        {
            for (int j = 0; j < data.Samples; j++)
            {
                line.Clear().Append(data.Labels[j] > 0 ? "+1" : "-1");
                var columns = data.RowIndices(j);
                var values = data.RowValues(j);
                for (int k = 0; k < columns.Length; k++)
                    line.Append(' ').Append(columns[k] + 1).Append(':').Append(values[k].ToString("R", CultureInfo.InvariantCulture));
                writer.WriteLine(line);
            }
        }
    }
}
