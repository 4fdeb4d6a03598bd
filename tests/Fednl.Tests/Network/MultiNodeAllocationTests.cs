using System.Text.Json;
using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;

namespace Fednl.Tests.Network;

/// <summary>
/// The master reads every update in place: with the identical compressor each client sends all D = d(d+1)/2 values
/// a round, and the master must not copy them into fresh arrays (the generated parser would: n·8·D bytes a round).
/// </summary>
[NonParallelizable]
[Category("MultiNode")]
public sealed class MultiNodeAllocationTests
{
    [TestCase("framed")]
    [TestCase("grpc")]
    public void The_master_allocates_far_less_per_round_than_the_updates_it_reads(string engine)
    {
        const int clients = 3;
        var (args, options) = MultiNodeEquivalenceTests.Training(Algorithm.FedNL, CompressorKind.Identical, clients, rounds: 40);
        using var deployment = new Deployment(clients, insecure: true, engine);
        var master = deployment.StartMaster(args);
        var processes = deployment.StartClients(master.ListeningPort());
        Assert.That(master.WaitForExit(), Is.Zero, deployment.Logs());
        foreach (var client in processes) Assert.That(client.WaitForExit(), Is.Zero, deployment.Logs());
        Deployment.AssertSameHistory(Deployment.SingleNode(options).History, deployment.History(), deployment.Logs());

        Assert.That(master.Output.Trim().Split('\n'), Has.Length.EqualTo(1), "--json is one line on stdout: the engine's framework logs go to stderr");
        var json = JsonDocument.Parse(master.Output.Trim()).RootElement;
        int d = json.GetProperty("dimension").GetInt32();
        double updateBytes = clients * 8.0 * d * (d + 1) / 2;
        double allocated = json.GetProperty("master_alloc_bytes_per_round").GetDouble();
        Assert.That(allocated, Is.GreaterThan(0), "measured over the rounds after the second");
        // History rows, tasks and the engine's bookkeeping take a few KB; a copy of the updates alone would be 44 KB.
        Assert.That(allocated, Is.LessThan(updateBytes / 4),
            $"{allocated:F0} B allocated per round by the master; the clients' updates are {updateBytes:F0} B a round");
    }
}
