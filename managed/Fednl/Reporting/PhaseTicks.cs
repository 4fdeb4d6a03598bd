namespace Fednl.Reporting;

/// <summary>Stopwatch ticks of a client's three phases: oracle (margins, f, ∇f), Hessian, shift step (M, norm, compression).</summary>
public struct PhaseTicks
{
    public long Oracle, Hessian, Compression;

    public void Add(PhaseTicks other)
    {
        Oracle += other.Oracle;
        Hessian += other.Hessian;
        Compression += other.Compression;
    }
}
