using System.Globalization;
using System.Text;

namespace Fednl.Reporting;

/// <summary>
/// Convergence plots as a standalone SVG: ‖∇f‖ on a log scale against rounds, against seconds and against the bits
/// communicated per client (up and down), one coloured line per run, with a legend. Legends show what differs
/// between the runs; what they share is printed once above them.
/// </summary>
public static class SvgPlot
{
    private static readonly string[] Palette =
        ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    private const int PanelWidth = 400, PanelHeight = 320, Margin = 60, Gap = 80;

    public static string Render(IReadOnlyList<(string Label, IReadOnlyList<RoundReport> History)> runs) =>
        Render(runs.Select(r => new HistoryRun(r.Label, 0, r.History)).ToList());

    /// <summary>
    /// Bits per client are 8 (bytes up + bytes down) / n; without a recorded n, the round-1 participants. With
    /// <paramref name="labelsAsGiven"/> the legend shows each label whole.
    /// </summary>
    public static string Render(IReadOnlyList<HistoryRun> runs, bool labelsAsGiven = false)
    {
        if (runs.Count == 0) throw new ArgumentException("nothing to plot", nameof(runs));
        var positive = runs.SelectMany(r => r.History).Select(h => h.GradientNorm).Where(v => v > 0 && double.IsFinite(v)).ToArray();
        double yMin = positive.Length > 0 ? Math.Floor(Math.Log10(positive.Min())) : -1;
        double yMax = positive.Length > 0 ? Math.Ceiling(Math.Log10(positive.Max())) : 1;
        if (yMax <= yMin) yMax = yMin + 1;
        double maxRound = Math.Max(1, runs.Max(r => r.History[^1].Round));
        double maxSeconds = Math.Max(1e-9, runs.Max(r => r.History[^1].Seconds));
        var bits = runs.ToDictionary(r => r, r => BitsPerClient(r));
        double maxBits = Math.Max(1, runs.Max(r => r.History.Max(h => bits[r](h))));
        var labels = runs.Select(r => r.Label).ToList();
        var (common, legends) = labelsAsGiven ? ("", labels) : Legends(labels);

        int legendHeight = 18 * runs.Count + 34 + (common.Length > 0 ? 18 : 0);
        int width = 3 * PanelWidth + 2 * Gap + 2 * Margin, height = PanelHeight + 2 * Margin + legendHeight;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        Panel(svg, runs, Margin, "round", maxRound, _ => h => h.Round, yMin, yMax, integerTicks: true);
        Panel(svg, runs, Margin + PanelWidth + Gap, "seconds", maxSeconds, _ => h => h.Seconds, yMin, yMax, integerTicks: false);
        Panel(svg, runs, Margin + 2 * (PanelWidth + Gap), "bits per client (up + down)", maxBits, r => bits[r], yMin, yMax, integerTicks: false);
        int y0 = PanelHeight + Margin + 62;
        if (common.Length > 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Margin}\" y=\"{y0}\">all runs: {Escape(common)}</text>\n");
            y0 += 18;
        }
        for (int i = 0; i < runs.Count; i++)
        {
            int y = y0 + 18 * i;
            string colour = Palette[i % Palette.Length];
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Margin}\" y1=\"{y - 4}\" x2=\"{Margin + 24}\" y2=\"{y - 4}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Margin + 32}\" y=\"{y}\">{Escape(legends[i])}</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>
    /// Splits labels into the words every run shares and, per run, the words that differ (all of its label when
    /// the runs share every word). One run keeps its whole label.
    /// </summary>
    public static (string Common, IReadOnlyList<string> Legends) Legends(IReadOnlyList<string> labels)
    {
        if (labels.Count < 2) return ("", labels);
        var words = labels.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var shared = words.Skip(1).Aggregate(words[0].ToHashSet(), (set, w) => { set.IntersectWith(w); return set; });
        var legends = words.Select((w, i) => w.Where(t => !shared.Contains(t)).ToArray() is { Length: > 0 } differ
            ? string.Join(' ', differ) : labels[i]).ToList();
        if (legends.Distinct().Count() < legends.Count) return ("", labels); // identical settings: keep every label whole
        return (string.Join(' ', words[0].Where(shared.Contains)), legends);
    }

    private static Func<RoundReport, double> BitsPerClient(HistoryRun run)
    {
        int clients = run.Clients > 0 ? run.Clients : Math.Max(1, run.History.Count > 1 ? run.History[1].Participants : 1);
        return h => 8.0 * (h.BytesUp + h.BytesDown) / clients;
    }

    private static void Panel(StringBuilder svg, IReadOnlyList<HistoryRun> runs, int left, string xLabel, double xMax,
        Func<HistoryRun, Func<RoundReport, double>> xOf, double yMin, double yMax, bool integerTicks)
    {
        int top = Margin;
        var c = CultureInfo.InvariantCulture;
        double Px(double v) => left + v / xMax * PanelWidth;
        double Py(double log) => top + (yMax - log) / (yMax - yMin) * PanelHeight;

        svg.Append(c, $"<rect x=\"{left}\" y=\"{top}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#444\"/>\n");
        int step = Math.Max(1, (int)Math.Ceiling((yMax - yMin) / 10));
        for (double e = yMin; e <= yMax; e += step)
        {
            double y = Py(e);
            svg.Append(c, $"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{left + PanelWidth}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>");
            svg.Append(c, $"<text x=\"{left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">1e{e:0}</text>\n");
        }
        foreach (double v in Ticks(xMax, integerTicks))
            svg.Append(c, $"<text x=\"{Px(v):F1}\" y=\"{top + PanelHeight + 16}\" text-anchor=\"middle\">{Tick(v)}</text>\n");
        svg.Append(c, $"<text x=\"{left + PanelWidth / 2}\" y=\"{top + PanelHeight + 34}\" text-anchor=\"middle\">{xLabel}</text>\n");
        svg.Append(c, $"<text x=\"{left}\" y=\"{top - 10}\">‖∇f‖ (log scale) vs {xLabel}</text>\n");

        for (int i = 0; i < runs.Count; i++)
        {
            var x = xOf(runs[i]);
            var points = new StringBuilder();
            foreach (var h in runs[i].History)
            {
                if (!(h.GradientNorm > 0) || !double.IsFinite(h.GradientNorm)) continue;
                points.Append(c, $"{Px(x(h)):F1},{Py(Math.Log10(h.GradientNorm)):F1} ");
            }
            svg.Append(c, $"<polyline fill=\"none\" stroke=\"{Palette[i % Palette.Length]}\" stroke-width=\"1.5\" points=\"{points.ToString().TrimEnd()}\"/>\n");
        }
    }

    /// <summary>0 and up to five more ticks at a 1, 2 or 5 step; whole numbers only when <paramref name="integer"/>.</summary>
    public static IReadOnlyList<double> Ticks(double max, bool integer)
    {
        double raw = max / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        if (integer) step = Math.Max(1, Math.Ceiling(step));
        var ticks = new List<double>();
        for (int i = 0; i * step <= max * (1 + 1e-12); i++) ticks.Add(i * step);
        return ticks;
    }

    private static string Tick(double v) =>
        v >= 1e5 ? v.ToString("0.##e0", CultureInfo.InvariantCulture)
        : v >= 100 || v == Math.Floor(v) ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
