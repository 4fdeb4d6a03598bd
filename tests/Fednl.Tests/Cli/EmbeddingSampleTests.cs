using System.Diagnostics;

namespace Fednl.Tests.Cli;

/// <summary>The README's embedding sample builds and trains to convergence.</summary>
public sealed class EmbeddingSampleTests
{
    [Test]
    public void The_sample_trains_to_convergence()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Fednl.EmbeddingSample.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), Is.True, "the sample finished");
        Assert.That(process.ExitCode, Is.Zero, output + error);
        Assert.That(output, Does.Contain("f = ").And.Contain("model: "));
    }
}
