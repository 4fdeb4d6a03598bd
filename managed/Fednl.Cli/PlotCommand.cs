using System.CommandLine;
using Fednl.Reporting;

namespace Fednl.Cli;

/// <summary>
/// `fednl plot a.csv [b.csv …] [--label A --label B …] -o plot.svg`: ‖∇f‖ against rounds, seconds and bits per
/// client, one line per run; the legend shows the settings that differ between the runs.
/// </summary>
internal static class PlotCommand
{
    private static readonly Argument<FileInfo[]> Histories = new("history") { Description = "history CSV files written by `fednl train --out`", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<FileInfo> Output = new("--output", "-o") { Description = "SVG file to write", Required = true };
    private static readonly Option<string[]> Labels = new("--label") { Description = "legend label of each run, in the order of the files (once per file)" };

    public static Command Create()
    {
        var command = new Command("plot", "plot ||grad f|| against rounds, seconds and bits per client from history CSV files");
        command.Arguments.Add(Histories);
        command.Options.Add(Output);
        command.Options.Add(Labels);
        command.SetAction(parse =>
        {
            var files = parse.GetValue(Histories)!;
            var labels = parse.GetValue(Labels) ?? [];
            if (labels.Length != 0 && labels.Length != files.Length)
                throw new UsageException($"--label is given {labels.Length} times for {files.Length} history files (once per file, in order)");
            var output = parse.GetValue(Output)!;
            CommandRunner.CheckOutputFile(output, "--output");
            var runs = files.Select((f, i) => HistoryCsv.ReadRun(f.FullName) is var run && labels.Length > 0 ? run with { Label = labels[i] } : run).ToList();
            File.WriteAllText(output.FullName, SvgPlot.Render(runs, labelsAsGiven: labels.Length > 0));
            Console.WriteLine($"wrote {output.FullName} ({runs.Count} run{(runs.Count == 1 ? "" : "s")})");
            return CommandRunner.Ok;
        });
        return command;
    }
}
