namespace Fednl.Reporting;

/// <summary>
/// One row of a run's history (spec section 7): the state at model xᵏ and the traffic and time spent so far.
/// </summary>
public sealed record RoundReport
{
    public int Round { get; init; }
    /// <summary>f(xᵏ).</summary>
    public double Loss { get; init; }
    /// <summary>‖∇f(xᵏ)‖.</summary>
    public double GradientNorm { get; init; }
    /// <summary>‖xᵏ‖.</summary>
    public double ModelNorm { get; init; }
    /// <summary>Bytes clients sent so far: values (gradients, scalars, compressed entries) and indices.</summary>
    public long BytesUpValues { get; init; }
    public long BytesUpIndices { get; init; }
    /// <summary>Bytes the server sent so far (model broadcasts).</summary>
    public long BytesDown { get; init; }
    /// <summary>Training seconds so far (set-up excluded).</summary>
    public double Seconds { get; init; }
    /// <summary>FedNL-LS: step sizes tried this round (0 elsewhere).</summary>
    public int LineSearchTries { get; init; }
    /// <summary>Clients that took part this round.</summary>
    public int Participants { get; init; }
    /// <summary>Times the server's solve added to the diagonal to keep the system positive definite.</summary>
    public int SolveRegularisations { get; init; }

    /// <summary>Clients that should have answered this round but did not (a networked run that continues on loss).</summary>
    public int[] MissingClients { get; init; } = [];
    /// <summary>What went wrong around this round, if anything (line-search cap reached, divergence, stall); "" otherwise.</summary>
    public string Note { get; init; } = "";
    /// <summary>FNV-1a over the bits of xᵏ: two histories with equal digests ran through the same models.</summary>
    public ulong ModelDigest { get; init; }

    public long BytesUp => BytesUpValues + BytesUpIndices;

    /// <summary>64-bit FNV-1a over the IEEE bits of <paramref name="model"/>.</summary>
    public static ulong Digest(ReadOnlySpan<double> model)
    {
        ulong hash = 14695981039346656037UL;
        foreach (double v in model)
        {
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(v);
            for (int b = 0; b < 8; b++)
            {
                hash ^= (bits >> (8 * b)) & 0xFF;
                hash *= 1099511628211UL;
            }
        }
        return hash;
    }
}
