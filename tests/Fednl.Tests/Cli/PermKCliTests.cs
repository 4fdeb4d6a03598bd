namespace Fednl.Tests.Cli;

/// <summary>`--compressor permk` with `fednl train` (networked runs: MultiNodeEquivalenceTests and PrivateModeTests).</summary>
[NonParallelizable]
public sealed class PermKCliTests
{
    [Test]
    public void Train_runs_permk_and_reports_its_alpha_and_block_length()
    {
        var (exit, output, error) = CliHarness.Run("train", "--clients", "10", "--rounds", "5", "--compressor", "permk", "--json");
        Assert.That(exit, Is.Zero, error);
        var json = System.Text.Json.JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.That(json.GetProperty("compressor").GetString(), Is.EqualTo("permk"));
        Assert.That(json.GetProperty("alpha").GetDouble(), Is.EqualTo(0.1));
        int d = json.GetProperty("dimension").GetInt32();
        long D = (long)d * (d + 1) / 2;
        Assert.That(json.GetProperty("k").GetInt64(), Is.EqualTo((D + 9) / 10));
        Assert.That(json.GetProperty("bytes_up_indices").GetInt64(), Is.Zero);
    }

    [Test]
    public void Train_refuses_more_clients_than_Hessian_entries()
    {
        var (exit, _, error) = CliHarness.Run("train", "--clients", "2000", "--rounds", "2", "--compressor", "permk");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("fednl: permk splits the D = d(d+1)/2 = 1830 packed Hessian entries (d = 60)")
            .And.EndWith("needs D >= n, but there are n = 2000 clients"));
    }
}
