using System.Diagnostics;
using Fednl.Compression;
using Fednl.Reporting;
using Fednl.Transport;

namespace Fednl.Algorithms;

/// <summary>
/// The state every algorithm shares while it runs: transport, server, clock, traffic counters and the history.
/// </summary>
internal sealed class TrainingRun
{
    private readonly List<RoundReport> _history = [];
    private readonly IProgress<RoundReport>? _progress;

    public TrainingRun(TrainingOptions options, IClientTransport transport, FedNLServer server, CompressorSpec spec,
        double alpha, IProgress<RoundReport>? progress, CancellationToken token)
    {
        Options = options;
        Transport = transport;
        Server = server;
        Spec = spec;
        Alpha = alpha;
        Token = token;
        _progress = progress;
        Updates = Enumerable.Range(0, transport.ClientCount).Select(i => new ClientUpdate(i, spec)).ToArray();
        Losses = new double[transport.ClientCount];
        Gradients = Enumerable.Range(0, transport.ClientCount).Select(_ => new double[transport.Dimension]).ToArray();
    }

    public TrainingOptions Options { get; }
    public IClientTransport Transport { get; }
    public FedNLServer Server { get; }
    public CompressorSpec Spec { get; }
    public double Alpha { get; }
    public CancellationToken Token { get; }
    public ClientUpdate[] Updates { get; }
    public double[] Losses { get; }
    public double[][] Gradients { get; }
    public Stopwatch Clock { get; } = new();
    public IReadOnlyList<RoundReport> History => _history;
    public bool Cancelled { get; private set; }
    public bool Converged { get; private set; }

    private long _upValues, _upIndices, _down;

    public int Dimension => Transport.Dimension;
    public int ClientCount => Transport.ClientCount;

    /// <summary>The model sent to <paramref name="receivers"/> clients.</summary>
    public void CountBroadcast(int receivers) => _down += 8L * Dimension * receivers;

    /// <summary>Each client's scalar answer (f_i at a trial point).</summary>
    public void CountScalars(int senders) => _upValues += 8L * senders;

    /// <summary>FedNL messages: gradient, f_i, l_i and the compressed difference.</summary>
    public void CountUpdates(ReadOnlySpan<ClientUpdate> updates)
    {
        foreach (var u in updates)
        {
            _upValues += u.ValueBytes;
            _upIndices += u.IndexBytes;
        }
    }

    /// <summary>Loss and gradient answers (gradient descent, the final evaluation).</summary>
    public void CountGradients(int senders) => _upValues += (8L * Dimension + 8) * senders;

    /// <summary>True when the caller asked to stop; the run then ends with what it has.</summary>
    public bool StopRequested()
    {
        if (Token.IsCancellationRequested) Cancelled = true;
        return Cancelled;
    }

    /// <summary>Appends round <paramref name="round"/> at model x; returns true when ‖∇f‖ reached the tolerance.</summary>
    public bool Record(int round, double loss, ReadOnlySpan<double> gradient, ReadOnlySpan<double> model,
        int lineSearchTries = 0, int participants = -1, int regularisations = 0)
    {
        double gradientNorm = Norm(gradient);
        var report = new RoundReport
        {
            Round = round,
            Loss = loss,
            GradientNorm = gradientNorm,
            ModelNorm = Norm(model),
            BytesUpValues = _upValues,
            BytesUpIndices = _upIndices,
            BytesDown = _down,
            Seconds = Clock.Elapsed.TotalSeconds,
            LineSearchTries = lineSearchTries,
            Participants = participants < 0 ? ClientCount : participants,
            SolveRegularisations = regularisations,
        };
        _history.Add(report);
        _progress?.Report(report);
        Converged = Options.Tolerance > 0 && gradientNorm <= Options.Tolerance;
        return Converged;
    }

    /// <summary>
    /// f(x) and ∇f(x) over all clients (means in client order) into <paramref name="gradient"/>; returns f. The traffic
    /// counts as the algorithm's unless it is for reporting only.
    /// </summary>
    public double EvaluateAll(ReadOnlySpan<double> x, Span<double> gradient, bool reportingOnly = false)
    {
        if (!reportingOnly) CountBroadcast(ClientCount);
        Transport.LossesAndGradients(x, Losses, Gradients);
        if (!reportingOnly) CountGradients(ClientCount);
        double loss = 0;
        gradient.Clear();
        for (int i = 0; i < ClientCount; i++)
        {
            loss += Losses[i];
            for (int j = 0; j < Dimension; j++) gradient[j] += Gradients[i][j];
        }
        double inv = 1.0 / ClientCount;
        for (int j = 0; j < Dimension; j++) gradient[j] *= inv;
        return loss * inv;
    }

    public static double Norm(ReadOnlySpan<double> v)
    {
        double s = 0;
        foreach (double e in v) s += e * e;
        return Math.Sqrt(s);
    }
}
