using System.Runtime.CompilerServices;
using Fednl.Reporting;
using Spectre.Console;

namespace Fednl.Cli;

/// <summary>
/// Shows training progress: a progress bar on a terminal, a plain line every few rounds when output is redirected,
/// nothing at all in --json mode (the JSON line must be the only output).
/// </summary>
internal static class ProgressDisplay
{
    public static TrainingResult Run(bool quiet, int rounds, Func<IProgress<RoundReport>?, TrainingResult> train)
    {
        if (quiet) return train(null);
        if (!Console.IsOutputRedirected && IsInteractiveTerminal()) return WithProgressBar(rounds, train);
        int every = Math.Max(1, rounds / 20);
        return train(new SynchronousProgress(r =>
        {
            if (r.Round % every == 0 || r.Round == rounds)
                Console.WriteLine($"round {r.Round,6}  f {r.Loss:R}  ||grad f|| {r.GradientNorm:E3}  {r.Seconds:F3} s");
        }));
    }

    // Spectre.Console is touched only in the two methods below, so that --json and redirected runs never load it
    // (about 0.9 MB of the process's resident memory).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsInteractiveTerminal() => AnsiConsole.Profile.Capabilities.Interactive;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TrainingResult WithProgressBar(int rounds, Func<IProgress<RoundReport>?, TrainingResult> train)
    {
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: Math.Max(1, rounds));
                result = train(new SynchronousProgress(r =>
                {
                    task.Value = r.Round;
                    task.Description = $"round {r.Round}  ||grad f|| {r.GradientNorm:E2}";
                }));
                task.Value = task.MaxValue;
            });
        return result!;
    }

    /// <summary>Reports on the training thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<RoundReport> report) : IProgress<RoundReport>
    {
        public void Report(RoundReport value) => report(value);
    }
}
