using System.Text.Json;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Reporting;
using Fednl.Tests.Algorithms;

namespace Fednl.Tests.Network;

/// <summary>
/// The hard shapes over the network: FedNL-LS option 1 and damped FedNL (with --scale on unscaled data) reach ‖∇f‖ ≤ 1e-10 with the
/// single-node simulation's history bit for bit, and the master reports why it stopped.
/// </summary>
[NonParallelizable]
[Category("MultiNode")]
public sealed class MultiNodeHardDataTests
{
    private static void RunBoth(Dataset data, string[] training, TrainingOptions options, double lambda)
    {
        const int clients = 3;
        using var deployment = new Deployment(clients);
        string file = Path.Combine(deployment.Folder.Path, "data.svm");
        HardProblems.WriteLibSvm(data, file);
        var master = deployment.StartMaster(training);
        int port = master.ListeningPort();
        var processes = deployment.StartClients(port, _ => ["--data", file]);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var client in processes) Assert.That(client.WaitForExit(), Is.Zero, deployment.Logs());

        var split = ClientSplit.Split(LibSvmReader.Read(file, addIntercept: false), clients, 123);
        var expected = FedNLTrainer.Train(split.Clients, 0, options with { Clients = clients, Threads = 2 });
        // with --scale the reference solves the scaled problem, whose coordinates are x · s
        var scales = expected.FeatureScales;
        var problem = scales is null ? split.Clients : split.Clients.Select(c => FeatureScaling.Apply(c, scales)).ToArray();
        var inProblemCoordinates = scales is null ? expected : expected with { Model = expected.Model.Select((v, i) => v * scales[i]).ToArray() };
        HardProblemTests.AssertAtOptimum(inProblemCoordinates, CentralisedNewton.Solve(problem, lambda, 200), lambda);
        Deployment.AssertSameHistory(expected.History, deployment.History(), deployment.Logs());
        using var json = JsonDocument.Parse(master.Output.Trim().Split('\n')[^1]);
        Assert.That(json.RootElement.GetProperty("stop_reason").GetString(), Is.EqualTo("tolerance"));
        Assert.That(json.RootElement.GetProperty("converged").GetBoolean(), Is.True);
    }

    [Test]
    public void FedNL_LS_option_1_with_scaling_on_unscaled_data_matches_the_single_node_run()
    {
        var options = new TrainingOptions
        {
            Algorithm = Algorithm.FedNLLineSearch, Option = FedNLOption.Option1, Compressor = CompressorKind.RandK,
            Rounds = 500, Tolerance = 1e-10, ScaleFeatures = true,
        };
        string[] args = ["--algorithm", "fednl-ls", "--option", "1", "--compressor", "randk", "--rounds", "500", "--tolerance", "1e-10", "--scale"];
        RunBoth(HardProblems.Unscaled(), args, options, 1e-3);
    }

    [Test]
    public void Damped_FedNL_with_scaling_matches_the_single_node_run()
    {
        // the damped step uses max ‖a_j‖ of the scaled rows, which the clients report in their Scaled answers
        var options = new TrainingOptions
        {
            Option = FedNLOption.Option1, Compressor = CompressorKind.RandK, Rounds = 500, Tolerance = 1e-10,
            ScaleFeatures = true, StepSize = StepSize.Damped,
        };
        string[] args = ["--option", "1", "--compressor", "randk", "--rounds", "500", "--tolerance", "1e-10", "--scale", "--step", "damped"];
        RunBoth(HardProblems.Unscaled(), args, options, 1e-3);
    }

    [Test]
    public void FedNL_LS_option_1_on_near_separable_data_matches_the_single_node_run()
    {
        var options = new TrainingOptions
        {
            Algorithm = Algorithm.FedNLLineSearch, Option = FedNLOption.Option1, Compressor = CompressorKind.RandK, Rounds = 500, Tolerance = 1e-10,
        };
        string[] args = ["--algorithm", "fednl-ls", "--option", "1", "--compressor", "randk", "--rounds", "500", "--tolerance", "1e-10"];
        RunBoth(HardProblems.NearSeparable(11, samples: 36, features: 200), args, options, 1e-3);
    }
}
