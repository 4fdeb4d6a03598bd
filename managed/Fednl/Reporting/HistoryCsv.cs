using System.Globalization;
using System.Text;

namespace Fednl.Reporting;

/// <summary>
/// The per-round history as CSV: a header of column names, then one row per round. Comment lines starting with
/// '#' carry the run's settings, which `fednl plot` uses for its legend.
/// </summary>
public static class HistoryCsv
{
    public const string Header =
        "round,f,grad_norm,x_norm,bytes_up_values,bytes_up_indices,bytes_down,seconds,line_search_tries,participants,solve_regularisations,model_digest,missing_clients,note";

    public static void Write(string path, TrainingResult result, string label)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        Write(writer, result.History, label);
    }

    public static void Write(TextWriter writer, IReadOnlyList<RoundReport> history, string label)
    {
        writer.Write("# run: ");
        writer.WriteLine(label.Replace('\n', ' '));
        writer.WriteLine(Header);
        var c = CultureInfo.InvariantCulture;
        foreach (var r in history)
        {
            writer.Write(r.Round.ToString(c)); writer.Write(',');
            writer.Write(r.Loss.ToString("R", c)); writer.Write(',');
            writer.Write(r.GradientNorm.ToString("R", c)); writer.Write(',');
            writer.Write(r.ModelNorm.ToString("R", c)); writer.Write(',');
            writer.Write(r.BytesUpValues.ToString(c)); writer.Write(',');
            writer.Write(r.BytesUpIndices.ToString(c)); writer.Write(',');
            writer.Write(r.BytesDown.ToString(c)); writer.Write(',');
            writer.Write(r.Seconds.ToString("R", c)); writer.Write(',');
            writer.Write(r.LineSearchTries.ToString(c)); writer.Write(',');
            writer.Write(r.Participants.ToString(c)); writer.Write(',');
            writer.Write(r.SolveRegularisations.ToString(c)); writer.Write(',');
            writer.Write(r.ModelDigest.ToString("x16", c)); writer.Write(',');
            writer.Write(string.Join(' ', r.MissingClients)); writer.Write(',');
            writer.WriteLine(r.Note.Replace(',', ';').Replace('\n', ' '));
        }
    }

    /// <summary>Reads a history file back. Errors name the file and line.</summary>
    public static (string Label, IReadOnlyList<RoundReport> History) Read(string path)
    {
        var run = ReadRun(path);
        return (run.Label, run.History);
    }

    /// <summary>Reads a history file back with its client count (n= in its label; 0 when the label has none).</summary>
    public static HistoryRun ReadRun(string path)
    {
        int clients = 0;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such history file", path);
        string label = Path.GetFileNameWithoutExtension(path);
        var rows = new List<RoundReport>();
        string[]? columns = null;
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            if (line.StartsWith("# run:", StringComparison.Ordinal))
            {
                label = line[6..].Trim();
                // n=N in the label (RunSummary.Label) is the client count.
                foreach (string word in label.Split(' '))
                    if (word.StartsWith("n=", StringComparison.Ordinal) && int.TryParse(word.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                        clients = n;
                continue;
            }
            if (line.StartsWith('#')) continue;
            var fields = line.Split(',');
            if (columns is null)
            {
                columns = fields;
                if (Array.IndexOf(columns, "round") < 0 || Array.IndexOf(columns, "grad_norm") < 0)
                    throw new FormatException($"{path}:{lineNumber}: not a fednl history (no 'round' and 'grad_norm' columns)");
                continue;
            }
            if (fields.Length != columns.Length)
                throw new FormatException($"{path}:{lineNumber}: {fields.Length} fields, the header has {columns.Length}");
            string Text(string name)
            {
                int i = Array.IndexOf(columns!, name);
                return i < 0 ? "" : fields[i];
            }
            double Get(string name)
            {
                int i = Array.IndexOf(columns!, name);
                if (i < 0) return 0;
                if (!double.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new FormatException($"{path}:{lineNumber}: '{fields[i]}' in column {name} is not a number");
                return v;
            }
            rows.Add(new RoundReport
            {
                Round = (int)Get("round"), Loss = Get("f"), GradientNorm = Get("grad_norm"), ModelNorm = Get("x_norm"),
                BytesUpValues = (long)Get("bytes_up_values"), BytesUpIndices = (long)Get("bytes_up_indices"),
                BytesDown = (long)Get("bytes_down"), Seconds = Get("seconds"), LineSearchTries = (int)Get("line_search_tries"),
                Participants = (int)Get("participants"), SolveRegularisations = (int)Get("solve_regularisations"),
                ModelDigest = ulong.TryParse(Text("model_digest"), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong digest) ? digest : 0,
                MissingClients = ParseIds(Text("missing_clients"), path, lineNumber),
                Note = Text("note"),
            });
        }
        if (rows.Count == 0) throw new FormatException($"{path}: no rounds in the file");
        return new HistoryRun(label, clients, rows);
    }

    private static int[] ParseIds(string text, string path, int lineNumber)
    {
        if (text.Length == 0) return [];
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out ids[i]))
                throw new FormatException($"{path}:{lineNumber}: '{parts[i]}' in column missing_clients is not a client id");
        return ids;
    }
}

/// <summary>A run read back from a history file: its legend label, n (0 if not recorded) and its rounds.</summary>
public sealed record HistoryRun(string Label, int Clients, IReadOnlyList<RoundReport> History);
