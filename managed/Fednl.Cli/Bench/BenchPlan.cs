using Fednl.Clients;
using Fednl.Data;
using Fednl.Reporting;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>A dataset's clients as the roofline's work counts need them, and its dimension d.</summary>
internal sealed record DatasetShape(IReadOnlyList<ClientShape> Clients, int Features);

/// <summary>
/// What every cell of one bench run shares: where the datasets are, the clients, rounds and repeats, and the
/// `fednl train` arguments of a cell.
/// </summary>
internal sealed class BenchPlan(string dataDir, int clients, int rounds, int repeat)
{
    /// <summary>The tolerance of the time-to-accuracy runs: ‖∇f‖ ≤ 1e-12, as issue 13 asks.</summary>
    public const string AccuracyTolerance = "1e-12";

    private readonly Dictionary<string, DatasetShape> _shapes = [];

    public string DataDir { get; } = dataDir;
    public int Clients { get; } = clients;
    public int Rounds { get; } = rounds;
    public int Repeat { get; } = repeat;

    /// <summary>
    /// True when the cells run the configuration the quoted u-FedNL seconds are for (142 clients, 1000 rounds): only
    /// then are whole-process seconds comparable with them.
    /// </summary>
    public bool IsTableOneConfiguration => Clients == 142 && Rounds == 1000;

    /// <summary>A generated dataset (no file): dense500.</summary>
    public static bool IsGenerated(string dataset) => dataset == SyntheticDataset.Dense500Name;

    /// <summary>
    /// The `fednl train` arguments of a cell: a file dataset with the intercept and the plan's clients, or dense500 as
    /// generated (d = 500, no intercept) with its own 50 clients of 12 samples; then <paramref name="extra"/>.
    /// </summary>
    public List<string> TrainArguments(string dataset, string compressor, params string[] extra)
    {
        List<string> arguments = IsGenerated(dataset)
            ? ["train", "--synthetic", dataset, "--clients", Invariant(SyntheticDataset.Dense500Clients)]
            : ["train", "--data", Path.Combine(DataDir, dataset), "--add-intercept", "--clients", Invariant(Clients)];
        arguments.AddRange(["--rounds", Invariant(Rounds), "--compressor", compressor, "--json"]);
        arguments.AddRange(extra);
        return arguments;
    }

    /// <summary>The clients a cell trains: the same data, intercept and seeded split as its `fednl train`.</summary>
    private IReadOnlyList<Dataset> ClientsOf(string dataset) => IsGenerated(dataset)
        ? ClientSplit.Split(SyntheticDataset.Named(dataset)!, SyntheticDataset.Dense500Clients, 123).Clients
        : ClientSplit.Split(LibSvmReader.Read(Path.Combine(DataDir, dataset), addIntercept: true), Clients, 123).Clients;

    /// <summary>The dataset's client shapes (its Hessian plans measured once per bench run).</summary>
    public DatasetShape ShapeOf(string dataset)
    {
        if (!_shapes.TryGetValue(dataset, out var shape))
        {
            var split = ClientsOf(dataset);
            shape = new DatasetShape(FedNLClient.Shapes(split), split[0].Features);
            _shapes[dataset] = shape;
        }
        return shape;
    }
}
