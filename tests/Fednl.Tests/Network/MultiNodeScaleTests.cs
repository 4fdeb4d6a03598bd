using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;

namespace Fednl.Tests.Network;

/// <summary>Fifty client processes and a master on loopback, TLS on, still the single-node history bit for bit.</summary>
[NonParallelizable]
[Category("MultiNode")]
public sealed class MultiNodeScaleTests
{
    [Test]
    public void Fifty_client_processes_reproduce_the_single_node_run()
    {
        const int clients = 50;
        var (args, options) = MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.RandSeqK, clients, rounds: 10);
        using var deployment = new Deployment(clients);
        var master = deployment.StartMaster(args);
        int port = master.ListeningPort();
        var processes = deployment.StartClients(port);
        Assert.That(master.WaitForExit(300), Is.Zero, master.ToString());
        Assert.That(master.Errors, Does.Contain("client 49 ("));
        foreach (var client in processes) Assert.That(client.WaitForExit(60), Is.Zero, client.ToString());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), master.ToString());
    }
}
