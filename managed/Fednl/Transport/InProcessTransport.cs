using Fednl.Algorithms;
using Fednl.Compression;

namespace Fednl.Transport;

/// <summary>
/// Single-node simulation: all clients live in this process and a round runs them on worker threads. Clients are
/// split into contiguous, fixed blocks, one per worker, each worker with its own scratch; a client's result does
/// not depend on which worker ran it, so histories are bit-identical for any thread count.
/// </summary>
public sealed class InProcessTransport : IClientTransport
{
    private readonly FedNLClient[] _clients;
    private readonly ClientScratch[] _scratch;
    private readonly ulong _seed;
    private readonly CompressorKind _compressor;
    private readonly ParallelOptions _parallel;
    private readonly bool[] _answered;
    private readonly double[] _model, _losses;
    private readonly int[] _selected;

    public InProcessTransport(IReadOnlyList<FedNLClient> clients, CompressorSpec spec, ulong seed, int threads)
    {
        if (clients.Count == 0) throw new ArgumentException("at least one client is needed", nameof(clients));
        _clients = clients.ToArray();
        _seed = seed;
        _compressor = spec.Kind;
        Dimension = _clients[0].Dimension;
        int workers = Math.Clamp(threads, 1, _clients.Length);
        _scratch = Enumerable.Range(0, workers).Select(_ => new ClientScratch(spec, _clients)).ToArray();
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = workers };
        _answered = new bool[_clients.Length];
        _model = new double[Dimension];
        _losses = new double[_clients.Length];
        _selected = new int[_clients.Length];
        Array.Fill(_answered, true);
    }

    public ReadOnlySpan<bool> Answered => _answered;

    public int ClientCount => _clients.Length;
    public int Dimension { get; }
    public IReadOnlyList<FedNLClient> Clients => _clients;

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

    public void InitializeShifts(ReadOnlySpan<double> x0, Span<double> hessianMean)
    {
        var x = x0.ToArray();
        ForEach(_clients.Length, (i, scratch) => _clients[i].InitializeShift(x, scratch));
        MeanOfShifts(hessianMean);
    }

    /// <summary>(1/n) Σ H_i in client order: each shift lives on its client's pattern and is zero elsewhere.</summary>
    private void MeanOfShifts(Span<double> mean) => MeanShift(default, mean);

    public void MeanShift(ReadOnlySpan<bool> members, Span<double> mean)
    {
        mean.Clear();
        int count = 0;
        for (int i = 0; i < _clients.Length; i++)
        {
            if (!members.IsEmpty && !members[i]) continue;
            _clients[i].Plan.AddTo(_clients[i].Shift, mean);
            count++;
        }
        double inv = 1.0 / count;
        for (int e = 0; e < mean.Length; e++) mean[e] *= inv;
    }

    public void InitializePartialParticipation(ReadOnlySpan<double> x0, Span<double> hessianMean, Span<double> gradientTermMean)
    {
        var x = x0.ToArray();
        ForEach(_clients.Length, (i, scratch) => _clients[i].InitializePartialParticipation(x, scratch));
        MeanOfShifts(hessianMean);
        ClientOrder.Mean(_clients.Length, i => _clients[i].LocalGradientTerm!, gradientTermMean);
    }

    public void Round(ReadOnlySpan<double> x, int round, double alpha, ClientUpdate[] updates)
    {
        var model = Model(x);
        ForEach(_clients.Length, (i, scratch) =>
            _clients[i].Round(model, round, alpha, SeedSequence.CompressorFor(_compressor, _seed, i, round), scratch, updates[i]));
    }

    public void Participate(ReadOnlySpan<double> x, int round, double alpha, ReadOnlySpan<int> selected, ClientUpdate[] updates)
    {
        var model = Model(x);
        var ids = _selected.AsSpan(0, selected.Length);
        selected.CopyTo(ids);
        var idArray = _selected;
        ForEach(ids.Length, (t, scratch) =>
            _clients[idArray[t]].Participate(model, round, alpha, SeedSequence.CompressorFor(_compressor, _seed, idArray[t], round), scratch, updates[t]));
    }

    public void Losses(ReadOnlySpan<double> x, Span<double> losses)
    {
        var model = Model(x);
        var result = _losses;
        ForEach(_clients.Length, (i, scratch) => result[i] = _clients[i].Evaluate(model, scratch, default, default));
        result.CopyTo(losses);
    }

    public void LossesAndGradients(ReadOnlySpan<double> x, Span<double> losses, double[][] gradients)
    {
        var model = Model(x);
        var result = _losses;
        ForEach(_clients.Length, (i, scratch) => result[i] = _clients[i].Evaluate(model, scratch, gradients[i], default));
        result.CopyTo(losses);
    }

    /// <summary>The model the workers read this call (a buffer reused every round).</summary>
    private double[] Model(ReadOnlySpan<double> x)
    {
        x.CopyTo(_model);
        return _model;
    }

    public void Dispose()
    {
        foreach (var s in _scratch) s.Dispose();
    }
}
