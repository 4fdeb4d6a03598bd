using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;

namespace Fednl.Tests.Network;

/// <summary>
/// Master and clients as separate processes on 127.0.0.1 (TLS, mutual authentication) produce the single-node
/// simulation's history bit for bit: the same x (digest), f, ‖∇f‖ and ‖x‖ in every round.
/// </summary>
[NonParallelizable]
[Category("MultiNode")]
public sealed class MultiNodeEquivalenceTests
{
    internal static (string[] Args, TrainingOptions Options) Training(Algorithm algorithm, CompressorKind compressor, int clients, int rounds,
        int clientsPerRound = 2)
    {
        string flag = algorithm switch
        {
            Algorithm.FedNL => "fednl",
            Algorithm.FedNLLineSearch => "fednl-ls",
            Algorithm.FedNLPartialParticipation => "fednl-pp",
            _ => "gd",
        };
        var args = new[] { "--algorithm", flag, "--compressor", compressor.ToFlag(), "--rounds", rounds.ToString(),
            "--clients-per-round", clientsPerRound.ToString() };
        var options = new TrainingOptions
        {
            Algorithm = algorithm, Compressor = compressor, Clients = clients, Rounds = rounds, ClientsPerRound = clientsPerRound,
        };
        return (args, options);
    }

    [TestCase(Algorithm.FedNL, CompressorKind.RandK)]
    [TestCase(Algorithm.FedNL, CompressorKind.TopK)]
    [TestCase(Algorithm.FedNL, CompressorKind.RandSeqK)]
    [TestCase(Algorithm.FedNL, CompressorKind.Natural)]
    [TestCase(Algorithm.FedNL, CompressorKind.PermK)]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.RandK)]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.TopLEK)]
    [TestCase(Algorithm.FedNLPartialParticipation, CompressorKind.RandK)]
    [TestCase(Algorithm.FedNLPartialParticipation, CompressorKind.TopLEK)]
    [TestCase(Algorithm.FedNL, CompressorKind.TopK, "grpc")]
    [TestCase(Algorithm.FedNL, CompressorKind.Natural, "grpc")]
    [TestCase(Algorithm.FedNLLineSearch, CompressorKind.RandK, "grpc")]
    [TestCase(Algorithm.FedNLPartialParticipation, CompressorKind.TopLEK, "grpc")]
    public void Multi_node_history_equals_the_single_node_simulation(Algorithm algorithm, CompressorKind compressor, string engine = "framed")
    {
        const int clients = 3;
        var (args, options) = Training(algorithm, compressor, clients, rounds: 12);
        using var deployment = new Deployment(clients, engine: engine);
        var master = deployment.StartMaster(args);
        int port = master.ListeningPort();
        var processes = deployment.StartClients(port);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var client in processes)
        {
            Assert.That(client.WaitForExit(), Is.Zero, deployment.Logs());
            Assert.That(client.Errors, Does.Contain("master ended the run: run finished"));
        }
        var expected = Deployment.SingleNode(options);
        Deployment.AssertSameHistory(expected.History, deployment.History(), deployment.Logs());
        Assert.That(expected.Final.GradientNorm, Is.LessThan(0.1 * expected.History[0].GradientNorm), "the run made progress");
    }

    /// <summary>Dense clients of 20 rows take the fused dense step; networked, they give the single-node history.</summary>
    [TestCase(Algorithm.FedNL, CompressorKind.Natural)]
    [TestCase(Algorithm.FedNL, CompressorKind.TopK)]
    [TestCase(Algorithm.FedNLPartialParticipation, CompressorKind.Natural)]
    public void Fused_dense_clients_give_the_single_node_history(Algorithm algorithm, CompressorKind compressor)
    {
        const int clients = 3;
        var data = Fednl.Data.SyntheticDataset.GenerateDense(60, 30, 0.1, 2.0, 17);
        var (args, options) = Training(algorithm, compressor, clients, rounds: 12);
        options = options with { HessianPath = HessianPath.Dense, Threads = 2 };
        var split = Fednl.Data.ClientSplit.Split(data, clients, options.Seed);
        Assert.That(split.Clients.Select(c => new Fednl.Clients.FedNLClient(0, c, options.Lambda, HessianPath.Dense).UsesFusedStep),
            Is.All.True, "every client on the fused step");
        using var deployment = new Deployment(clients);
        string path = Path.Combine(deployment.Folder.Path, "dense.svm");
        Fednl.Data.LibSvmWriter.Write(path, [data]);
        var master = deployment.StartMaster(args);
        var processes = deployment.StartClients(master.ListeningPort(), _ => ["--data", path, "--hessian-path", "dense"]);
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var client in processes) Assert.That(client.WaitForExit(), Is.Zero, deployment.Logs());
        var expected = FedNLTrainer.Train(data, options);
        Deployment.AssertSameHistory(expected.History, deployment.History(), deployment.Logs());
        Assert.That(expected.Final.GradientNorm, Is.LessThan(0.1 * expected.History[0].GradientNorm), "the run made progress");
    }
}
