using System.Text;

namespace Fednl.Interop.Generator;

/// <summary>Turns C doc comments into the text of C# XML doc comments.</summary>
internal static class CommentText
{
    /// <summary>Strips comment markers and leading asterisks, joins wrapped lines, keeps paragraph breaks.</summary>
    public static string Clean(string raw)
    {
        var lines = new List<string>();
        foreach (var rawLine in raw.Replace("\r\n", "\n").Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.StartsWith("/**", StringComparison.Ordinal)) line = line[3..];
            else if (line.StartsWith("/*", StringComparison.Ordinal)) line = line[2..];
            else if (line.StartsWith("///", StringComparison.Ordinal)) line = line[3..];
            if (line.EndsWith("*/", StringComparison.Ordinal)) line = line[..^2];
            line = line.Trim();
            if (line.StartsWith('*')) line = line[1..].Trim();
            lines.Add(line);
        }
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                if (text.Length > 0 && text[^1] != '\n') text.Append('\n');
                continue;
            }
            if (text.Length > 0 && text[^1] != '\n') text.Append(line.StartsWith('-') ? '\n' : ' ');
            text.Append(line);
        }
        return text.ToString().Trim();
    }

    public static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>Writes a /// &lt;summary&gt; block, one source line per output line.</summary>
    public static void AppendSummary(StringBuilder output, string indent, string? doc)
    {
        if (string.IsNullOrEmpty(doc)) return;
        output.Append(indent).Append("/// <summary>\n");
        foreach (var line in doc.Split('\n')) output.Append(indent).Append("/// ").Append(Escape(line)).Append('\n');
        output.Append(indent).Append("/// </summary>\n");
    }
}
