using Fednl.Algorithms;

namespace Fednl.Transport;

/// <summary>
/// Moves the algorithm's messages between the server role and the client roles. The single-node simulation and a
/// networked deployment are two implementations of this interface, so the algorithms are written once. Every
/// method fills per-client results in client-id order, whatever order the clients finish in. A networked transport
/// may lose clients: <see cref="Answered"/> says whose results the last call filled in.
/// </summary>
public interface IClientTransport : IDisposable
{
    int ClientCount { get; }
    int Dimension { get; }

    /// <summary>
    /// After each call: which results were filled in, indexed like the call's results (by client id, or by position in
    /// <c>selected</c> for <see cref="Participate"/>). The single-node simulation always answers for everyone.
    /// </summary>
    ReadOnlySpan<bool> Answered { get; }

    /// <summary>H_i⁰ = ∇²f_i(x⁰) on every client; writes H⁰ = (1/n) Σ H_i⁰.</summary>
    void InitializeShifts(ReadOnlySpan<double> x0, Span<double> hessianMean);

    /// <summary>FedNL-PP start on every client; writes H⁰ and g⁰ = (1/n) Σ g_i⁰ (l⁰ = 0).</summary>
    void InitializePartialParticipation(ReadOnlySpan<double> x0, Span<double> hessianMean, Span<double> gradientTermMean);

    /// <summary>One FedNL round on every client: updates[i] receives client i's message.</summary>
    void Round(ReadOnlySpan<double> x, int round, double alpha, ClientUpdate[] updates);

    /// <summary>FedNL-PP: the selected clients (ascending ids) participate; updates[t] belongs to selected[t].</summary>
    void Participate(ReadOnlySpan<double> x, int round, double alpha, ReadOnlySpan<int> selected, ClientUpdate[] updates);

    /// <summary>
    /// Mean of the current shifts H_i over the clients marked in <paramref name="members"/> (all when empty), in client
    /// order: the server's H when the set of clients it averages over changes (clients lost or back).
    /// </summary>
    void MeanShift(ReadOnlySpan<bool> members, Span<double> mean);

    /// <summary>f_i(x) for every client (line-search tries).</summary>
    void Losses(ReadOnlySpan<double> x, Span<double> losses);

    /// <summary>f_i(x) and ∇f_i(x) for every client (gradient descent, progress tracking).</summary>
    void LossesAndGradients(ReadOnlySpan<double> x, Span<double> losses, double[][] gradients);
}

/// <summary>Means over clients, always summed in client-id order so every transport gets the same bits.</summary>
public static class ClientOrder
{
    /// <summary>Mean of <paramref name="select"/>(i) over the clients marked in <paramref name="members"/> (all when empty).</summary>
    public static void Mean(int clients, Func<int, double[]> select, Span<double> mean, ReadOnlySpan<bool> members = default)
    {
        mean.Clear();
        int count = 0;
        for (int i = 0; i < clients; i++)
        {
            if (!members.IsEmpty && !members[i]) continue;
            var v = select(i);
            for (int e = 0; e < mean.Length; e++) mean[e] += v[e];
            count++;
        }
        double inv = 1.0 / count;
        for (int e = 0; e < mean.Length; e++) mean[e] *= inv;
    }
}
