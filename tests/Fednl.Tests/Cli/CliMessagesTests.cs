using System.Text.RegularExpressions;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;

namespace Fednl.Tests.Cli;

/// <summary>What `fednl` says when it is called wrongly: usage, unknown commands, flag values, files checked up front.</summary>
[NonParallelizable]
public sealed class CliMessagesTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Test]
    public void Fednl_alone_prints_the_usage_with_every_command()
    {
        var (exit, output, error) = Run();
        Assert.That(exit, Is.Zero, error);
        Assert.That(output, Does.Contain("Usage:\n  fednl [command] [options]").Or.Contain("Usage:\r\n  fednl [command] [options]"));
        foreach (var command in new[] { "train", "plot", "master", "client", "certs", "bench" })
            Assert.That(output, Does.Contain("  " + command));
    }

    [TestCase("train")]
    [TestCase("plot")]
    [TestCase("master")]
    [TestCase("client")]
    [TestCase("certs")]
    [TestCase("bench")]
    public void Every_help_page_names_the_command_fednl(string command)
    {
        var (exit, output, _) = Run(command, "--help");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Match(@"Usage:\r?\n  fednl " + command + " "));
        Assert.That(output, Does.Not.Contain("Fednl.Cli"));
    }

    [TestCase("trian", "unknown command 'trian' (did you mean 'train'?)")]
    [TestCase("bnech", "unknown command 'bnech' (did you mean 'bench'?)")]
    [TestCase("frobnicate", "unknown command 'frobnicate'; the commands are train, plot, master, client, certs, keys, bench")]
    public void An_unknown_command_is_named_with_a_suggestion(string word, string message)
    {
        var (exit, _, error) = Run(word, "--rounds", "3");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("fednl: " + message));
        Assert.That(error, Does.Not.Contain("Required command"));
    }

    [TestCase("--rounds", "abc", "fednl: --rounds expects an integer, got 'abc'")]
    [TestCase("--alpha", "x", "fednl: --alpha expects a number, got 'x'")]
    [TestCase("--seed", "-1", "fednl: --seed expects a non-negative integer, got '-1'")]
    [TestCase("--lambda", "one", "fednl: --lambda expects a number, got 'one'")]
    public void A_value_of_the_wrong_kind_names_the_flag_and_no_dotnet_type(string flag, string value, string message)
    {
        var (exit, _, error) = Run("train", flag, value);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Is.EqualTo(message));
        Assert.That(error, Does.Not.Contain("System."));
    }

    [TestCase("--clients", "0")]
    [TestCase("--rounds", "-1")]
    [TestCase("--k-mult", "0")]
    [TestCase("--lambda", "-1")]
    [TestCase("--alpha", "0")]
    [TestCase("--threads", "0")]
    [TestCase("--tolerance", "-1")]
    [TestCase("--line-search-tries", "0")]
    [TestCase("--clients-per-round", "0")]
    [TestCase("--option", "3")]
    [TestCase("--memory-limit", "0")]
    public void Every_range_error_names_its_flag(string flag, string value)
    {
        var (exit, _, error) = Run("train", flag, value);
        Assert.That(exit, Is.EqualTo(2), error);
        Assert.That(error.Trim(), Does.StartWith($"fednl: {flag} must be"));
    }

    [Test]
    public void Every_training_option_message_maps_to_a_flag()
    {
        foreach (var bad in new TrainingOptions[]
                 {
                     new() { Clients = 0 }, new() { Rounds = -1 }, new() { KMultiplier = 0 }, new() { Lambda = -1 }, new() { Alpha = 0 },
                     new() { ClientsPerRound = -1 }, new() { Threads = 0 }, new() { Tolerance = -1 }, new() { LineSearchMaxTries = 0 },
                     new() { MemoryLimitBytes = -1 }, new() { Option = (FedNLOption)3 },
                     new() { Algorithm = Algorithm.FedNLPartialParticipation, Clients = 4, ClientsPerRound = 5 },
                 })
        {
            var e = Assert.Throws<ArgumentException>(bad.Validate)!;
            Assert.That(Fednl.Cli.TrainingFlags.FlagMessage(e.Message), Does.StartWith("--"), e.Message);
        }
    }

    [Test]
    public void Partial_participation_defaults_to_at_most_the_clients_and_refuses_more()
    {
        var (exit, _, error) = Run("train", "--algorithm", "fednl-pp", "--rounds", "2", "--json");
        Assert.That(exit, Is.Zero, error);
        Assert.That(new TrainingOptions { Clients = 10 }.ClientsPerRoundFor(10), Is.EqualTo(10));
        Assert.That(new TrainingOptions { Clients = 142 }.ClientsPerRoundFor(142), Is.EqualTo(12));

        (exit, _, error) = Run("train", "--algorithm", "fednl-pp", "--clients", "10", "--clients-per-round", "12");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(error.Trim(), Is.EqualTo("fednl: --clients-per-round 12 exceeds the 10 clients"));
        var data = Fednl.Data.SyntheticDataset.Generate(100, 5, 0.5, 1);
        Assert.Throws<ArgumentException>(() => FedNLTrainer.Train(data, new TrainingOptions { Algorithm = Algorithm.FedNLPartialParticipation, Clients = 4, ClientsPerRound = 5 }));
    }

    [Test]
    public void Output_folders_and_input_files_are_checked_before_the_first_round()
    {
        using var temp = TestData.TempFolder();
        string missingFolder = Path.Combine(temp.Path, "no-such-folder", "x.csv");
        var (exit, output, error) = Run("train", "--rounds", "5", "--out", missingFolder);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.Trim(), Is.EqualTo($"fednl: --out {missingFolder}: the folder {Path.GetDirectoryName(missingFolder)} does not exist"));
        Assert.That(output, Does.Not.Contain("round"), "nothing trained");

        string missingTest = Path.Combine(temp.Path, "absent.svm");
        (exit, output, error) = Run("train", "--rounds", "5", "--test", missingTest);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error.Trim(), Is.EqualTo($"fednl: --test {missingTest}: no such file"));
        Assert.That(output, Does.Not.Contain("round"));

        string badTest = temp.File("bad.svm", "1 1:1\nx 1:1\n");
        (exit, output, error) = Run("train", "--rounds", "5", "--test", badTest);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("bad.svm:2"));
        Assert.That(output, Does.Not.Contain("round"), "a malformed test file too is found before training");

        (exit, _, error) = Run("bench", "--markdown", missingFolder);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(error, Does.Contain("--markdown"));
    }

    [Test]
    public void Data_file_problems_get_the_same_wording_for_inf_and_nan_and_a_bom_is_accepted()
    {
        using var temp = TestData.TempFolder();
        string inf = temp.File("inf.svm", "1 2:inf\n-1 1:1\n"), nan = temp.File("nan.svm", "1 2:nan\n-1 1:1\n");
        var (_, _, infError) = Run("train", "--data", inf, "--clients", "1");
        var (_, _, nanError) = Run("train", "--data", nan, "--clients", "1");
        Assert.That(infError.Trim(), Is.EqualTo($"fednl: {inf}:1: NaN or infinity is not allowed ('2:inf')"));
        Assert.That(nanError.Trim(), Is.EqualTo($"fednl: {nan}:1: NaN or infinity is not allowed ('2:nan')"));

        string bom = Path.Combine(temp.Path, "bom.svm");
        File.WriteAllBytes(bom, [0xEF, 0xBB, 0xBF, .. "+1 2:1\n-1 1:1\n+1 1:0.5\n-1 2:-1\n"u8]);
        var (exit, _, error) = Run("train", "--data", bom, "--clients", "2", "--rounds", "2", "--json");
        Assert.That(exit, Is.Zero, error);
    }

    [Test]
    public void The_readme_bench_commands_say_where_the_datasets_are()
    {
        var lines = File.ReadAllLines(Path.Combine(TestData.RepositoryRoot, "README.md"))
            .Where(l => Regex.IsMatch(l, @"^\s*(\S+=\S+\s+)*\./fednl bench")).ToArray();
        Assert.That(lines, Is.Not.Empty);
        foreach (string line in lines)
            Assert.That(line, Does.Match(@"FEDNL_DATA=\S+|--data-dir \S+"), "runs as written: " + line);
    }
}
