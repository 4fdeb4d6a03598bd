using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Fednl.Cli.Bench;

/// <summary>Wall seconds of one whole child process and the JSON object it printed last.</summary>
internal sealed record TimedRun(double Seconds, JsonNode Json)
{
    /// <summary>The run with the median seconds (the upper one of an even count).</summary>
    public static TimedRun Median(IReadOnlyList<TimedRun> runs) => runs.OrderBy(r => r.Seconds).ElementAt(runs.Count / 2);

    /// <summary>Rounds the run reported (at least 1, so that per-round figures stay finite).</summary>
    public double RoundsOrOne => Math.Max(1, (double)Json["rounds"]!);

    /// <summary>Milliseconds per round of the rounds alone (train_seconds, without the process start and setup).</summary>
    public double MillisecondsPerRound => 1000 * (double)Json["train_seconds"]! / RoundsOrOne;

    /// <summary>
    /// Runs this fednl command with <paramref name="arguments"/> as a child process: the same executable when fednl
    /// itself runs (apphost or `dotnet Fednl.Cli.dll`), otherwise (fednl hosted in another process, e.g. a test run)
    /// `dotnet` with this assembly.
    /// </summary>
    public static TimedRun OfFednl(IReadOnlyList<string> arguments)
    {
        string dll = typeof(TimedRun).Assembly.Location;
        string host = Environment.ProcessPath ?? "dotnet";
        bool hostIsDotnet = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        bool hostIsFednl = !hostIsDotnet && System.Reflection.Assembly.GetEntryAssembly() == typeof(TimedRun).Assembly;
        if (hostIsFednl) return Of(host, arguments);
        return Of(hostIsDotnet ? host : "dotnet", new[] { dll }.Concat(arguments).ToArray());
    }

    /// <summary>Times <paramref name="program"/> from start to exit; it must exit with 0 and print a JSON line last.</summary>
    public static TimedRun Of(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new IOException($"bench: could not start {program}");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        double seconds = clock.Elapsed.TotalSeconds;
        string command = $"{program} {string.Join(' ', arguments)}";
        if (process.ExitCode != 0)
            throw new IOException($"bench: '{command}' exited with {process.ExitCode}: {stderr.Result.Trim()}");
        string last = stdout.TrimEnd().Split('\n')[^1];
        try
        {
            return new TimedRun(seconds, JsonNode.Parse(last) ?? throw new FormatException("empty output"));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new IOException($"bench: '{command}' did not end with a JSON line ({e.Message})");
        }
    }
}
