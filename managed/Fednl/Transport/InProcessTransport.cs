using Fednl.Clients;
using Fednl.Compression;
using Fednl.Messages;
using Fednl.Reporting;

namespace Fednl.Transport;

/// <summary>
/// Single-node simulation: all client roles live in this process and an exchange runs them on worker threads.
/// Recipients are split into contiguous, fixed blocks, one per worker, each worker with its own scratch; a client's
/// reply does not depend on which worker ran it, so histories are bit-identical for any thread count. No client
/// is ever lost.
/// </summary>
public sealed class InProcessTransport : IClientTransport
{
    private readonly ClientRole[] _roles;
    private readonly ClientScratch[] _scratch;
    private readonly ParallelOptions _parallel;
    private readonly bool[] _answered;
    private readonly int[] _recipients;

    public InProcessTransport(IReadOnlyList<FedNLClient> clients, CompressorSpec spec, ulong seed, int threads)
    {
        if (clients.Count == 0) throw new ArgumentException("at least one client is needed", nameof(clients));
        _roles = clients.Select(c => new ClientRole(c, seed, spec.Kind)).ToArray();
        Dimension = clients[0].Dimension;
        int workers = Math.Clamp(threads, 1, clients.Count);
        _scratch = Enumerable.Range(0, workers).Select(_ => new ClientScratch(spec, clients)).ToArray();
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = workers };
        _answered = new bool[clients.Count];
        _recipients = new int[clients.Count];
        Array.Fill(_answered, true);
    }

    public ReadOnlySpan<bool> Answered => _answered;

    public int ClientCount => _roles.Length;
    public int Dimension { get; }

    /// <summary>Client time so far by phase, summed over the workers (CPU time, not wall time).</summary>
    public PhaseTicks ClientTicks
    {
        get
        {
            var total = new PhaseTicks();
            foreach (var s in _scratch) total.Add(s.Ticks);
            return total;
        }
    }

    public void Exchange(ClientRequest request, ReadOnlySpan<int> recipients, ClientReply[] replies)
    {
        int count = recipients.IsEmpty ? _roles.Length : recipients.Length;
        for (int t = 0; t < count; t++) _recipients[t] = recipients.IsEmpty ? t : recipients[t];
        var ids = _recipients;
        ForEach(count, (t, scratch) => _roles[ids[t]].Handle(request, scratch, replies[t]));
    }

    public bool TryTakeReturning(out int client)
    {
        client = -1;
        return false;
    }

    /// <summary>Runs body(index, scratch) for index in [0, count), in fixed contiguous blocks per worker.</summary>
    private void ForEach(int count, Action<int, ClientScratch> body)
    {
        int workers = Math.Min(_scratch.Length, count);
        if (workers <= 1)
        {
            for (int i = 0; i < count; i++) body(i, _scratch[0]);
            return;
        }
        Parallel.For(0, workers, _parallel, w =>
        {
            int begin = (int)((long)count * w / workers), end = (int)((long)count * (w + 1) / workers);
            for (int i = begin; i < end; i++) body(i, _scratch[w]);
        });
    }

    public void Dispose()
    {
        foreach (var s in _scratch) s.Dispose();
    }
}
