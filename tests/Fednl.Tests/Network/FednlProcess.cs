using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Fednl.Tests.Network;

/// <summary>
/// A `fednl` command running as its own process (the built Fednl.Cli.dll), with stdout and stderr captured as they
/// arrive. Disposing kills it if it still runs, so a failing test leaves nothing behind.
/// </summary>
internal sealed partial class FednlProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new(), _err = new();
    private readonly object _gate = new();

    public FednlProcess(string name, string workingDirectory, params string[] args)
    {
        Name = name;
        // A test run started in the background inherits SIGINT ignored, and .NET keeps an inherited SIG_IGN (as nohup
        // wants), so Ctrl-C would never reach the master: start every process with SIGINT at its default.
        bool resetInterrupt = OperatingSystem.IsLinux() && File.Exists("/usr/bin/env");
        var start = new ProcessStartInfo(resetInterrupt ? "/usr/bin/env" : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (resetInterrupt)
        {
            start.ArgumentList.Add("--default-signal=INT");
            start.ArgumentList.Add("dotnet");
        }
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Fednl.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        // Many processes share two cores: keep each runtime lean.
        start.Environment["DOTNET_TieredPGO"] = "0";
        start.Environment["DOTNET_gcServer"] = "0";
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) _out.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) _err.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }
    public int Id => _process.Id;
    public string Output { get { lock (_gate) return _out.ToString(); } }
    public string Errors { get { lock (_gate) return _err.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Waits for exit; fails the test (and kills the process) after <paramref name="seconds"/>, with the other
    /// processes' logs (<paramref name="context"/>) when given.
    /// </summary>
    public int WaitForExit(double seconds = 120, Func<string>? context = null)
    {
        if (!_process.WaitForExit(TimeSpan.FromSeconds(seconds)))
        {
            Kill();
            Assert.Fail($"{Name} did not exit within {seconds} s\nstdout:\n{Output}\nstderr:\n{Errors}" +
                        (context is null ? "" : $"\nthe other processes:\n{context()}"));
        }
        _process.WaitForExit(); // drain the output readers
        return _process.ExitCode;
    }

    /// <summary>Waits until stderr matches <paramref name="pattern"/>; returns the match.</summary>
    public Match WaitForError(string pattern, double seconds = 60)
    {
        var regex = new Regex(pattern);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var match = regex.Match(Errors);
            if (match.Success) return match;
            if (_process.HasExited)
            {
                _process.WaitForExit();
                match = regex.Match(Errors);
                if (match.Success) return match;
                Assert.Fail($"{Name} exited ({_process.ExitCode}) before printing /{pattern}/\nstdout:\n{Output}\nstderr:\n{Errors}");
            }
            Thread.Sleep(20);
        }
        Assert.Fail($"{Name} did not print /{pattern}/ within {seconds} s\nstderr:\n{Errors}");
        return Match.Empty;
    }

    /// <summary>For a master started with --listen 127.0.0.1:0: the port it bound.</summary>
    public int ListeningPort() => int.Parse(WaitForError(@"listening on 127\.0\.0\.1:(\d+)").Groups[1].Value);

    /// <summary>Sends SIGINT, as Ctrl-C would.</summary>
    public void Interrupt()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", _process.Id.ToString()]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    public override string ToString() => $"{Name}\nstdout:\n{Output}\nstderr:\n{Errors}";

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
