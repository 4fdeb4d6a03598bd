namespace Fednl.Messages;

/// <summary>What the server asks of its clients; each kind has one reply (docs/protocol.md).</summary>
public enum RequestKind
{
    /// <summary>Form H_i⁰ at x⁰ (and FedNL-PP's g_i⁰). Reply: the shift and, for FedNL-PP, g_i⁰.</summary>
    Initialize,
    /// <summary>A FedNL round, or a FedNL-PP participation, at x. Reply: f_i, l_i, the gradient and S_i.</summary>
    Round,
    /// <summary>f_i(x), and ∇f_i(x) when asked. Reply: f_i (and the gradient).</summary>
    Evaluate,
    /// <summary>Take back the state the server holds for you (a rejoin, a resumed server). Reply: empty.</summary>
    Restore,
    /// <summary>--scale: report max_j |a_jf| for every feature f. Reply: the maxima.</summary>
    FeatureMax,
    /// <summary>--scale: divide feature f by the divisor from now on. Reply: max ‖a_j‖² of the scaled rows.</summary>
    Scale,
}

/// <summary>
/// One request of the server to its clients. It is filled once per exchange and read by every recipient (the
/// single-node simulation hands it to each client role; a network transport encodes it once), so its buffers are
/// allocated once per run.
/// </summary>
public sealed class ClientRequest(int dimension)
{
    public RequestKind Kind { get; private set; }
    public int Round { get; private set; }
    public double Alpha { get; private set; }

    /// <summary>Round: a FedNL-PP participation (the client moves w_i, l_i, g_i too).</summary>
    public bool Participate { get; private set; }

    /// <summary>Initialize, Restore: the run is FedNL-PP, so the client's state includes w_i, l_i and g_i.</summary>
    public bool PartialParticipation { get; private set; }

    /// <summary>Evaluate: the gradient is wanted too.</summary>
    public bool WantGradient { get; private set; }

    /// <summary>x (Initialize, Round, Evaluate) or the feature divisors (Scale): d values.</summary>
    public double[] Vector { get; } = new double[dimension];

    /// <summary>Restore: every client's state as the server holds it, by client id.</summary>
    public IReadOnlyList<ClientState>? States { get; private set; }

    public int Dimension => Vector.Length;

    /// <summary>Restore: the state of client <paramref name="client"/>.</summary>
    public ClientState StateOf(int client)
    {
        var states = States ?? throw new InvalidOperationException($"a {Kind} request carries no client state");
        if (client < states.Count && states[client].Id == client) return states[client];
        foreach (var state in states)
            if (state.Id == client) return state;
        throw new ArgumentException($"the Restore request carries no state for client {client}", nameof(client));
    }

    public ClientRequest Initialize(ReadOnlySpan<double> x0, bool partialParticipation) =>
        Set(RequestKind.Initialize, 0, x0, partial: partialParticipation);

    public ClientRequest ForRound(int round, double alpha, ReadOnlySpan<double> x, bool participate) =>
        Set(RequestKind.Round, round, x, alpha: alpha, participate: participate);

    public ClientRequest Evaluate(int round, ReadOnlySpan<double> x, bool wantGradient) =>
        Set(RequestKind.Evaluate, round, x, wantGradient: wantGradient);

    public ClientRequest Restore(int round, IReadOnlyList<ClientState> states, bool partialParticipation)
    {
        Set(RequestKind.Restore, round, default, partial: partialParticipation);
        States = states;
        return this;
    }

    public ClientRequest FeatureMax() => Set(RequestKind.FeatureMax, 0, default);

    public ClientRequest Scale(ReadOnlySpan<double> divisors) => Set(RequestKind.Scale, 0, divisors);

    private ClientRequest Set(RequestKind kind, int round, ReadOnlySpan<double> vector, double alpha = 0, bool participate = false,
        bool partial = false, bool wantGradient = false)
    {
        if (!vector.IsEmpty && vector.Length != Vector.Length)
            throw new ArgumentException($"a {kind} request carries {Vector.Length} values, got {vector.Length}", nameof(vector));
        (Kind, Round, Alpha, Participate, PartialParticipation, WantGradient, States) = (kind, round, alpha, participate, partial, wantGradient, null);
        vector.CopyTo(Vector);
        return this;
    }
}
