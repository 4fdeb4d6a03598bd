using System.Globalization;
using System.Text;

namespace Fednl.Reporting;

/// <summary>
/// Convergence plots as a standalone SVG: ‖∇f‖ on a log scale against rounds (left panel) and against seconds
/// (right panel), one coloured line per run, with a legend.
/// </summary>
public static class SvgPlot
{
    private static readonly string[] Palette =
        ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    private const int PanelWidth = 460, PanelHeight = 320, Margin = 60, Gap = 80;

    public static string Render(IReadOnlyList<(string Label, IReadOnlyList<RoundReport> History)> runs)
    {
        if (runs.Count == 0) throw new ArgumentException("nothing to plot", nameof(runs));
        var positive = runs.SelectMany(r => r.History).Select(h => h.GradientNorm).Where(v => v > 0 && double.IsFinite(v)).ToArray();
        double yMin = positive.Length > 0 ? Math.Floor(Math.Log10(positive.Min())) : -1;
        double yMax = positive.Length > 0 ? Math.Ceiling(Math.Log10(positive.Max())) : 1;
        if (yMax <= yMin) yMax = yMin + 1;
        double maxRound = Math.Max(1, runs.Max(r => r.History[^1].Round));
        double maxSeconds = Math.Max(1e-9, runs.Max(r => r.History[^1].Seconds));

        int legendHeight = 18 * runs.Count + 34;
        int width = 2 * PanelWidth + Gap + 2 * Margin, height = PanelHeight + 2 * Margin + legendHeight;
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        Panel(svg, runs, Margin, "round", maxRound, h => h.Round, yMin, yMax);
        Panel(svg, runs, Margin + PanelWidth + Gap, "seconds", maxSeconds, h => h.Seconds, yMin, yMax);
        for (int i = 0; i < runs.Count; i++)
        {
            int y = PanelHeight + Margin + 62 + 18 * i;
            string colour = Palette[i % Palette.Length];
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Margin}\" y1=\"{y - 4}\" x2=\"{Margin + 24}\" y2=\"{y - 4}\" stroke=\"{colour}\" stroke-width=\"2\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Margin + 32}\" y=\"{y}\">{Escape(runs[i].Label)}</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, IReadOnlyList<(string Label, IReadOnlyList<RoundReport> History)> runs,
        int left, string xLabel, double xMax, Func<RoundReport, double> x, double yMin, double yMax)
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
        for (int t = 0; t <= 4; t++)
        {
            double v = xMax * t / 4;
            svg.Append(c, $"<text x=\"{Px(v):F1}\" y=\"{top + PanelHeight + 16}\" text-anchor=\"middle\">{Tick(v)}</text>\n");
        }
        svg.Append(c, $"<text x=\"{left + PanelWidth / 2}\" y=\"{top + PanelHeight + 34}\" text-anchor=\"middle\">{xLabel}</text>\n");
        svg.Append(c, $"<text x=\"{left}\" y=\"{top - 10}\">‖∇f‖ (log scale) vs {xLabel}</text>\n");

        for (int i = 0; i < runs.Count; i++)
        {
            var points = new StringBuilder();
            foreach (var h in runs[i].History)
            {
                if (!(h.GradientNorm > 0) || !double.IsFinite(h.GradientNorm)) continue;
                points.Append(c, $"{Px(x(h)):F1},{Py(Math.Log10(h.GradientNorm)):F1} ");
            }
            svg.Append(c, $"<polyline fill=\"none\" stroke=\"{Palette[i % Palette.Length]}\" stroke-width=\"1.5\" points=\"{points.ToString().TrimEnd()}\"/>\n");
        }
    }

    private static string Tick(double v) =>
        v >= 100 || v == Math.Floor(v) ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
