using System.CommandLine;
using Fednl.Reporting;

namespace Fednl.Cli;

/// <summary>`fednl plot a.csv [b.csv …] -o plot.svg`: ‖∇f‖ against rounds and seconds, one line per run.</summary>
internal static class PlotCommand
{
    private static readonly Argument<FileInfo[]> Histories = new("history") { Description = "history CSV files written by `fednl train --out`", Arity = ArgumentArity.OneOrMore };
    private static readonly Option<FileInfo> Output = new("--output", "-o") { Description = "SVG file to write", Required = true };

    public static Command Create()
    {
        var command = new Command("plot", "plot ||grad f|| against rounds and seconds from history CSV files");
        command.Arguments.Add(Histories);
        command.Options.Add(Output);
        command.SetAction(parse =>
        {
            var runs = parse.GetValue(Histories)!.Select(f => HistoryCsv.Read(f.FullName)).ToList();
            var output = parse.GetValue(Output)!;
            File.WriteAllText(output.FullName, SvgPlot.Render(runs));
            Console.WriteLine($"wrote {output.FullName} ({runs.Count} run{(runs.Count == 1 ? "" : "s")})");
            return CommandRunner.Ok;
        });
        return command;
    }
}
