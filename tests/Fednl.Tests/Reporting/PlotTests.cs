using System.Text.RegularExpressions;
using Fednl.Reporting;
using Fednl.Tests.Cli;

namespace Fednl.Tests.Reporting;

/// <summary>`fednl plot`: three panels (rounds, seconds, bits per client), labels, legends of what differs, integer round ticks.</summary>
[NonParallelizable]
public sealed class PlotTests
{
    [Test]
    public void Legends_show_every_setting_that_differs_and_the_shared_ones_once()
    {
        var (common, legends) = SvgPlot.Legends(["w8a fednl randk k-mult=8 n=10 seed=1", "w8a fednl topk k-mult=8 n=10 seed=2"]);
        Assert.That(common, Is.EqualTo("w8a fednl k-mult=8 n=10"));
        Assert.That(legends, Is.EqualTo(new[] { "randk seed=1", "topk seed=2" }));
        Assert.That(SvgPlot.Legends(["a b", "a b"]).Legends, Is.EqualTo(new[] { "a b", "a b" }), "identical runs keep their labels");
    }

    [TestCase(7, new double[] { 0, 2, 4, 6 })]
    [TestCase(3, new double[] { 0, 1, 2, 3 })]
    [TestCase(1, new double[] { 0, 1 })]
    [TestCase(1000, new double[] { 0, 200, 400, 600, 800, 1000 })]
    public void Round_ticks_are_whole_numbers(int rounds, double[] expected) =>
        Assert.That(SvgPlot.Ticks(rounds, integer: true), Is.EqualTo(expected));

    [Test]
    public void Runs_that_differ_in_any_flag_are_told_apart_and_bits_per_client_are_plotted()
    {
        using var temp = TestData.TempFolder();
        string a = Path.Combine(temp.Path, "a.csv"), b = Path.Combine(temp.Path, "b.csv"), svg = Path.Combine(temp.Path, "p.svg");
        Assert.That(CliHarness.Run("train", "--rounds", "3", "--clients", "4", "--out", a, "--json").Exit, Is.Zero);
        Assert.That(CliHarness.Run("train", "--rounds", "3", "--clients", "4", "--hessian-rule", "after", "--out", b, "--json").Exit, Is.Zero);
        Assert.That(HistoryCsv.ReadRun(a).Clients, Is.EqualTo(4));

        var (exit, _, error) = CliHarness.Run("plot", a, b, "-o", svg);
        Assert.That(exit, Is.Zero, error);
        string text = File.ReadAllText(svg);
        Assert.That(Regex.Matches(text, "<polyline").Count, Is.EqualTo(6), "two runs, three panels");
        Assert.That(text, Does.Contain("bits per client (up + down)"));
        Assert.That(text, Does.Contain(">hessian-rule=after</text>"), "the one setting that differs is the legend");
        Assert.That(text, Does.Contain("all runs: "));
        Assert.That(Regex.Matches(text, @"text-anchor=""middle"">(\d+(\.\d+)?)</text>").Select(m => m.Groups[1].Value)
            .Take(4), Has.All.Matches(@"^\d+$"), "round ticks are integers");

        (exit, _, error) = CliHarness.Run("plot", a, b, "--label", "paper rule", "--label", "2024 rule", "-o", svg);
        Assert.That(exit, Is.Zero, error);
        Assert.That(File.ReadAllText(svg), Does.Contain(">paper rule</text>").And.Contain(">2024 rule</text>"));

        (exit, _, error) = CliHarness.Run("plot", a, b, "--label", "only one", "-o", svg);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--label is given 1 times for 2 history files"));
    }

    [Test]
    public void Bits_per_client_count_both_directions_over_the_clients()
    {
        var history = new[]
        {
            new RoundReport { Round = 0, GradientNorm = 1, BytesUpValues = 0, BytesDown = 0 },
            new RoundReport { Round = 1, GradientNorm = 0.1, BytesUpValues = 300, BytesUpIndices = 100, BytesDown = 400, Participants = 4 },
        };
        string svg = SvgPlot.Render([new HistoryRun("r", 4, history)]);
        // 8 * (400 + 400) / 4 = 1600 bits: the last point of the third panel sits at its right edge.
        var panels = Regex.Matches(svg, @"<polyline[^>]*points=""([^""]*)""").Select(m => m.Groups[1].Value).ToArray();
        Assert.That(panels, Has.Length.EqualTo(3));
        var rects = Regex.Matches(svg, @"<rect x=""(\d+)"" y=""\d+"" width=""(\d+)""").Select(m => int.Parse(m.Groups[1].Value) + int.Parse(m.Groups[2].Value)).ToArray();
        string lastPoint = panels[2].Split(' ')[^1];
        Assert.That(double.Parse(lastPoint.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(rects[2]).Within(0.1));
    }
}
