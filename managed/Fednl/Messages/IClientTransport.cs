namespace Fednl.Messages;

/// <summary>
/// Moves the server's requests to the client roles and their replies back: one generic exchange, whatever the
/// algorithm. The single-node simulation and a networked deployment are two implementations, so the algorithms
/// are written once. Replies are filled in recipient order, whatever order the clients finish in. A networked
/// transport may lose clients: <see cref="Answered"/> says whose replies the last exchange filled in.
/// </summary>
public interface IClientTransport : IDisposable
{
    int ClientCount { get; }
    int Dimension { get; }

    /// <summary>After each exchange: which replies were filled in, by position in its recipients.</summary>
    ReadOnlySpan<bool> Answered { get; }

    /// <summary>
    /// Sends <paramref name="request"/> to the clients in <paramref name="recipients"/> (ascending ids; every client when
    /// empty) and fills replies[t] with the answer of the t-th recipient.
    /// </summary>
    void Exchange(ClientRequest request, ReadOnlySpan<int> recipients, ClientReply[] replies);

    /// <summary>
    /// A client that came back after it was lost and waits for its state (a Restore request) before it takes part
    /// again. Never true for a transport that cannot lose clients.
    /// </summary>
    bool TryTakeReturning(out int client);
}
