using System.Diagnostics;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Messages;
using Fednl.Reporting;

namespace Fednl.Algorithms;

/// <summary>
/// The state every algorithm shares while it runs: transport, server, clock, traffic counters and the history.
/// </summary>
internal sealed class TrainingRun
{
    private readonly List<RoundReport> _history = [];
    private readonly IProgress<RoundReport>? _progress;

    /// <param name="options">The run's settings.</param>
    /// <param name="transport">Carries the requests to the clients.</param>
    /// <param name="server">The server's state (x, H, g, l).</param>
    /// <param name="spec">The compressor of the clients' updates.</param>
    /// <param name="alpha">The shift step α.</param>
    /// <param name="progress">Told every history row.</param>
    /// <param name="token">Ends the run at the next round boundary.</param>
    /// <param name="keepClientStates">
    /// Keep each client's state as the replies determine it (<see cref="ClientStates"/>): needed when clients can be
    /// lost, come back or be restored from a checkpoint; the single-node simulation never needs it.
    /// </param>
    public TrainingRun(TrainingOptions options, IClientTransport transport, FedNLServer server, CompressorSpec spec,
        double alpha, IProgress<RoundReport>? progress, CancellationToken token, bool keepClientStates = false)
    {
        Options = options;
        Transport = transport;
        Server = server;
        Spec = spec;
        Alpha = alpha;
        Token = token;
        _progress = progress;
        int n = transport.ClientCount, d = transport.Dimension;
        Request = new ClientRequest(d);
        _restore = new ClientRequest(d);
        Updates = Enumerable.Range(0, n).Select(i => new ClientReply(i, spec)).ToArray();
        Evaluations = Enumerable.Range(0, n).Select(i => new ClientReply(i, d, null)).ToArray();
        Losses = new double[n];
        ClientStates = keepClientStates ? Enumerable.Range(0, n).Select(i => new ClientState(i, d)).ToArray() : null;
    }

    public TrainingOptions Options { get; }
    public IClientTransport Transport { get; }
    public FedNLServer Server { get; }
    public CompressorSpec Spec { get; }
    public double Alpha { get; }
    public CancellationToken Token { get; }
    /// <summary>The request of the current exchange (one buffer for the run).</summary>
    public ClientRequest Request { get; }
    private readonly ClientRequest _restore;

    /// <summary>The clients' replies to Initialize and Round, by client id (FedNL-PP: by position among the selected).</summary>
    public ClientReply[] Updates { get; }

    /// <summary>The clients' replies to Evaluate and the other small requests, by position among the recipients.</summary>
    public ClientReply[] Evaluations { get; }

    /// <summary>f_i of the last <see cref="LossesAt"/>, by client id.</summary>
    public double[] Losses { get; }

    /// <summary>Each client's state as its replies determine it, or null when the run does not keep it.</summary>
    public ClientState[]? ClientStates { get; }

    /// <summary>--scale divisors the clients train with (networked runs), sent again to a client that comes back.</summary>
    public double[]? Scales { get; private set; }

    /// <summary>The round the run is in: what a returning client is restored for.</summary>
    public int CurrentRound { get; private set; }
    public Stopwatch Clock { get; } = new();

    /// <summary>Garbage collections and managed allocations while the rounds ran (filled when they end).</summary>
    public int CollectionsDuringRounds { get; set; }
    public long AllocatedBytesDuringRounds { get; set; }
    public IReadOnlyList<RoundReport> History => _history;
    public bool Cancelled { get; private set; }

    /// <summary>Why the run stopped; <see cref="StopReason.Failed"/> until it stops by itself (an error leaves it so).</summary>
    public StopReason StopReason { get; private set; } = StopReason.Failed;
    public string? StopMessage { get; private set; }

    /// <summary>Not diverged, and the final ‖∇f‖ within the tolerance (or 1e-10 when none is set).</summary>
    public bool Converged => StopReason != StopReason.Diverged && _history.Count > 0 &&
        _history[^1].GradientNorm <= (Options.Tolerance > 0 ? Options.Tolerance : TrainingOptions.DefaultConvergenceBar);

    /// <summary>A note the next history row carries (e.g. a line search that reached its cap).</summary>
    public string PendingNote { get; set; } = "";

    /// <summary>M = max_j ‖a_j‖ over all clients' rows, for the damped step.</summary>
    public double RowNormBound { get; set; }

    /// <summary>The first round this run executes: 0, or the round a checkpoint was taken at.</summary>
    public int StartRound { get; private set; }

    /// <summary>Loop-carried values the next history row reports (kept here so a checkpoint can hold them).</summary>
    public int Regularisations { get; set; }
    public int LineSearchTries { get; set; }

    /// <summary>
    /// Called at the top of every round k with (k, final): final is true when the run is about to stop (all rounds
    /// done, tolerance reached or cancelled). The state then is exactly what round k starts from: a checkpoint point.
    /// </summary>
    public Action<int, bool>? RoundStarting { get; init; }

    private long _upValues, _upIndices, _down;

    /// <summary>Traffic counters so far: values up, indices up, down.</summary>
    public (long UpValues, long UpIndices, long Down) Traffic => (_upValues, _upIndices, _down);

    /// <summary>Continues a run from a checkpoint taken at the top of <paramref name="round"/>.</summary>
    public void Resume(int round, IEnumerable<RoundReport> history, (long UpValues, long UpIndices, long Down) traffic,
        int regularisations, int lineSearchTries, bool[] members)
    {
        if (members.Length != ClientCount) throw new ArgumentException($"{members.Length} membership flags for {ClientCount} clients");
        _members = members.ToArray();
        Server.AverageOver(Count(_members));
        StartRound = round;
        _history.Clear();
        _history.AddRange(history);
        (_upValues, _upIndices, _down) = traffic;
        Regularisations = regularisations;
        LineSearchTries = lineSearchTries;
    }

    /// <summary>Top of round k: runs the checkpoint hook; returns true when the run stops here.</summary>
    public bool AtRoundStart(int round)
    {
        CurrentRound = round;
        bool stop = round >= Options.Rounds || StopRequested();
        if (stop) StopReason = Cancelled ? StopReason.Cancelled : StopReason.Rounds;
        RoundStarting?.Invoke(round, stop);
        return stop;
    }

    private bool[]? _members;

    /// <summary>Which clients' shifts H averages over (all, unless a networked run lost some).</summary>
    public bool[] Members => _members ?? Enumerable.Repeat(true, ClientCount).ToArray();

    /// <summary>
    /// After a FedNL step: when the clients that answered are not the ones H averages over (a client was lost, or
    /// came back), H becomes the mean of the answering clients' shifts, so H, g and l describe the same objective.
    /// With every client answering every round (always, in simulation) this does nothing.
    /// </summary>
    public void FollowMembers(ReadOnlySpan<bool> answered)
    {
        _members ??= Enumerable.Repeat(true, ClientCount).ToArray();
        if (answered.SequenceEqual(_members)) return;
        answered.CopyTo(_members);
        var states = ClientStates ?? throw new InvalidOperationException("the clients H averages over changed, but the run keeps no client state");
        MeanOver(_members, i => states[i].Shift, Server.Hessian);
        Server.AverageOver(Count(_members));
    }

    /// <summary>Ends the run for <paramref name="reason"/>; the last history row carries the message.</summary>
    public void Stop(StopReason reason, string message)
    {
        StopReason = reason;
        StopMessage = message;
        if (_history.Count > 0)
            _history[^1] = _history[^1] with { Note = _history[^1].Note.Length == 0 ? message : $"{_history[^1].Note}; {message}" };
    }

    /// <summary>Ids of the clients that did not answer (the ids are the positions unless <paramref name="ids"/> is given).</summary>
    public static int[] Missing(ReadOnlySpan<bool> answered, ReadOnlySpan<int> ids = default)
    {
        int missing = 0;
        foreach (bool a in answered) if (!a) missing++;
        if (missing == 0) return [];
        var result = new int[missing];
        int m = 0;
        for (int t = 0; t < answered.Length; t++)
            if (!answered[t]) result[m++] = ids.IsEmpty ? t : ids[t];
        return result;
    }

    public int Dimension => Transport.Dimension;
    public int ClientCount => Transport.ClientCount;

    /// <summary>The model sent to <paramref name="receivers"/> clients.</summary>
    public void CountBroadcast(int receivers) => _down += 8L * Dimension * receivers;

    /// <summary>Each client's scalar answer (f_i at a trial point).</summary>
    public void CountScalars(int senders) => _upValues += 8L * senders;

    /// <summary>FedNL messages: gradient, f_i, l_i and the compressed difference.</summary>
    public void CountUpdates(ReadOnlySpan<ClientReply> updates, ReadOnlySpan<bool> answered)
    {
        for (int t = 0; t < updates.Length; t++)
        {
            if (!answered[t]) continue;
            _upValues += updates[t].ValueBytes;
            _upIndices += updates[t].IndexBytes;
        }
    }

    public static int Count(ReadOnlySpan<bool> answered)
    {
        int count = 0;
        foreach (bool a in answered) if (a) count++;
        return count;
    }

    /// <summary>Loss and gradient answers (gradient descent, the final evaluation).</summary>
    public void CountGradients(int senders) => _upValues += (8L * Dimension + 8) * senders;

    /// <summary>True when the caller asked to stop; the run then ends with what it has.</summary>
    public bool StopRequested()
    {
        if (Token.IsCancellationRequested) Cancelled = true;
        return Cancelled;
    }

    /// <summary>
    /// Appends round <paramref name="round"/> at model x; returns true when the run stops here: ‖∇f‖ reached the
    /// tolerance, or the run diverged (<see cref="Divergence"/>).
    /// </summary>
    public bool Record(int round, double loss, ReadOnlySpan<double> gradient, ReadOnlySpan<double> model,
        int lineSearchTries = 0, int participants = -1, int regularisations = 0, int[]? missing = null)
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
            MissingClients = missing ?? [],
            ModelDigest = RoundReport.Digest(model),
            Note = PendingNote,
        };
        PendingNote = "";
        _history.Add(report);
        if (Divergence(report) is { } why)
        {
            Stop(StopReason.Diverged, why);
            _progress?.Report(_history[^1]);
            return true;
        }
        _progress?.Report(report);
        if (Options.Tolerance > 0 && gradientNorm <= Options.Tolerance)
        {
            StopReason = StopReason.Tolerance;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Diverged: f, ‖∇f‖ or ‖x‖ is not finite, or f > DivergenceFactor · f(x⁰) (the first row's f). Returns the
    /// message naming the likely cause and the remedy, or null.
    /// </summary>
    private string? Divergence(RoundReport r)
    {
        string? what = !double.IsFinite(r.Loss) ? FormattableString.Invariant($"f = {r.Loss}")
            : !double.IsFinite(r.GradientNorm) ? FormattableString.Invariant($"||grad f|| = {r.GradientNorm}")
            : !double.IsFinite(r.ModelNorm) ? FormattableString.Invariant($"||x|| = {r.ModelNorm}")
            : null;
        double f0 = _history[0].Loss, factor = Options.DivergenceFactor;
        if (what is null && factor > 0 && double.IsFinite(f0) && r.Loss > factor * f0)
            what = FormattableString.Invariant($"f = {r.Loss:G4} > {factor:G4} x f(x0) = {factor * f0:G4}");
        if (what is null) return null;
        string remedy = Options.Algorithm switch
        {
            Algorithm.GradientDescent => "the step size is too large for this data: leave --alpha unset for the step 1/L",
            Algorithm.FedNLLineSearch => "the line search keeps f from rising, so this is a numerical breakdown: use --option 1",
            _ => "FedNL's full steps with an inexact Hessian converge only near the optimum: " +
                 "use --algorithm fednl-ls --option 1 (globally convergent)",
        };
        return $"diverged at round {r.Round}: {what}. Likely cause: {remedy}, and --scale if features have very different magnitudes";
    }

    /// <summary>
    /// f(x) and ∇f(x) over the clients that answered (means in client order) into <paramref name="gradient"/>; returns f. The traffic
    /// counts as the algorithm's unless it is for reporting only.
    /// </summary>
    public double EvaluateAll(ReadOnlySpan<double> x, Span<double> gradient, bool reportingOnly = false)
    {
        Exchange(Request.Evaluate(CurrentRound, x, wantGradient: true), default, Evaluations);
        var answered = Transport.Answered;
        int count = Count(answered);
        if (count == 0) throw new ClientLostException("no client answered the evaluation");
        if (!reportingOnly)
        {
            CountBroadcast(count);
            CountGradients(count);
        }
        double loss = 0;
        for (int i = 0; i < ClientCount; i++)
            if (answered[i]) loss += Evaluations[i].Loss;
        MeanOver(answered, i => Evaluations[i].Gradient, gradient);
        return loss * (1.0 / count);
    }

    // ---- exchanges --------------------------------------------------------------------------------------------

    /// <summary>
    /// The algorithm's start on every client: H_i⁰ (and FedNL-PP's g_i⁰) at x⁰; H⁰ = (1/n) Σ H_i⁰ (and g⁰) in client
    /// order. Every client must answer.
    /// </summary>
    public void Initialize(bool partialParticipation)
    {
        Exchange(Request.Initialize(Server.Model, partialParticipation), default, Updates);
        RequireAll("initialisation");
        var mean = Server.Hessian.AsSpan();
        mean.Clear();
        for (int i = 0; i < ClientCount; i++) Updates[i].AddShiftTo(mean);
        double inv = 1.0 / ClientCount;
        for (int e = 0; e < mean.Length; e++) mean[e] *= inv;
        if (partialParticipation) MeanOver(Transport.Answered, i => Updates[i].Gradient, Server.Gradient);
        // The shifts are in H⁰ (and in the kept client states): a networked run's decoded copies, D doubles per client, go.
        foreach (var update in Updates) (update.ShiftValues, update.ShiftSupport) = (null, null);
    }

    /// <summary>Round k at the server's model on every client (<paramref name="selected"/> empty) or, FedNL-PP, on the selected ones.</summary>
    public ReadOnlySpan<bool> Round(int round, ReadOnlySpan<int> selected = default, bool participate = false)
    {
        Exchange(Request.ForRound(round, Alpha, Server.Model, participate), selected, Updates);
        return Transport.Answered;
    }

    /// <summary>f_i at a trial point into <see cref="Losses"/> (line-search tries).</summary>
    public ReadOnlySpan<bool> LossesAt(ReadOnlySpan<double> x)
    {
        Exchange(Request.Evaluate(CurrentRound, x, wantGradient: false), default, Evaluations);
        var answered = Transport.Answered;
        for (int i = 0; i < ClientCount; i++) Losses[i] = answered[i] ? Evaluations[i].Loss : double.NaN;
        return answered;
    }

    /// <summary>
    /// --scale (networked runs): every client reports max |a_jf| per feature, the divisors are the maxima over the
    /// clients, and every client divides its features by them. Returns the divisors and max ‖a_j‖² of the scaled rows.
    /// </summary>
    public (double[] Divisors, double MaxRowNormSquared) ScaleFeatures()
    {
        Exchange(Request.FeatureMax(), default, Evaluations);
        RequireAll("feature scaling");
        var divisors = FeatureScaling.Divisors(Evaluations.Select(r => r.FeatureMaxima).ToArray());
        Exchange(Request.Scale(divisors), default, Evaluations);
        RequireAll("feature scaling");
        Scales = divisors;
        return (divisors, Evaluations.Max(r => r.MaxRowNormSquared));
    }

    /// <summary>Hands every client its state from <see cref="ClientStates"/> (resuming from a checkpoint at <paramref name="round"/>).</summary>
    public void RestoreAll(int round)
    {
        CurrentRound = round;
        var states = ClientStates ?? throw new InvalidOperationException("restoring clients needs the run to keep their state");
        Transport.Exchange(_restore.Restore(round, states, Options.Algorithm == Algorithm.FedNLPartialParticipation), default, Evaluations);
    }

    /// <summary>One exchange; clients that came back get their state first, and the kept states follow the replies.</summary>
    private void Exchange(ClientRequest request, ReadOnlySpan<int> recipients, ClientReply[] replies)
    {
        RestoreReturning();
        Transport.Exchange(request, recipients, replies);
        if (ClientStates is null || request.Kind is not (RequestKind.Initialize or RequestKind.Round)) return;
        var answered = Transport.Answered;
        int count = recipients.IsEmpty ? ClientCount : recipients.Length;
        for (int t = 0; t < count; t++)
            if (answered[t]) ClientStates[recipients.IsEmpty ? t : recipients[t]].Apply(request, replies[t]);
    }

    /// <summary>A client that came back gets the run's divisors (--scale) and its state, and takes part again.</summary>
    private void RestoreReturning()
    {
        Span<int> one = stackalloc int[1];
        while (Transport.TryTakeReturning(out int client))
        {
            var states = ClientStates ?? throw new InvalidOperationException($"client {client} came back, but the run keeps no client state");
            one[0] = client;
            if (Scales is not null)
            {
                Transport.Exchange(_restore.Scale(Scales), one, Evaluations);
                if (!Transport.Answered[0]) continue;
            }
            Transport.Exchange(_restore.Restore(CurrentRound, states, Options.Algorithm == Algorithm.FedNLPartialParticipation), one, Evaluations);
        }
    }

    private void RequireAll(string what)
    {
        var missing = Missing(Transport.Answered);
        if (missing.Length > 0)
            throw new ClientLostException($"{what} needs every client; lost: {string.Join(", ", missing.Select(i => $"client {i}"))}");
    }

    /// <summary>Mean of <paramref name="select"/>(i) over the clients marked in <paramref name="members"/>, summed in client order.</summary>
    private void MeanOver(ReadOnlySpan<bool> members, Func<int, double[]> select, Span<double> mean)
    {
        mean.Clear();
        int count = 0;
        for (int i = 0; i < ClientCount; i++)
        {
            if (!members[i]) continue;
            var v = select(i);
            for (int e = 0; e < mean.Length; e++) mean[e] += v[e];
            count++;
        }
        double inv = 1.0 / count;
        for (int e = 0; e < mean.Length; e++) mean[e] *= inv;
    }

    public static double Norm(ReadOnlySpan<double> v)
    {
        double s = 0;
        foreach (double e in v) s += e * e;
        return Math.Sqrt(s);
    }
}
