using CommunityToolkit.HighPerformance.Buffers;
using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>
/// Solves (H + shift·I) x = g by Cholesky for a packed symmetric H, reusing one workspace so that a solve in
/// the round loop allocates nothing. Not thread-safe: one instance per thread.
/// </summary>
public sealed class CholeskySolver : IDisposable
{
    private readonly MemoryOwner<double> _workspace;

    public CholeskySolver(int dimension)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "dimension must be >= 1");
        FednlNative.EnsureLoaded();
        Dimension = dimension;
        _workspace = MemoryOwner<double>.Allocate(checked((int)NativeMethods.fednl_packed_solve_workspace(dimension)));
    }

    public int Dimension { get; }

    /// <summary>
    /// Writes the solution. Throws <see cref="FednlNativeException"/> with status NotPositiveDefinite (and leaves
    /// <paramref name="solution"/> untouched) when H + shift·I is not positive definite.
    /// </summary>
    public void Solve(ReadOnlySpan<double> packed, double shift, ReadOnlySpan<double> rhs, Span<double> solution)
    {
        if (!TrySolve(packed, shift, rhs, solution, out var status))
            NativeError.Check((int)status);
    }

    /// <summary>Like <see cref="Solve"/>, but reports a matrix that is not positive definite as false.</summary>
    public bool TrySolve(ReadOnlySpan<double> packed, double shift, ReadOnlySpan<double> rhs, Span<double> solution, out FednlStatus status)
    {
        PackedSymmetric.CheckLength(Dimension, packed.Length, nameof(packed));
        if (rhs.Length != Dimension) throw new ArgumentException($"rhs has {rhs.Length} entries, expected {Dimension}", nameof(rhs));
        if (solution.Length != Dimension) throw new ArgumentException($"solution has {solution.Length} entries, expected {Dimension}", nameof(solution));
        var work = _workspace.Span;
        status = (FednlStatus)NativeMethods.fednl_packed_solve(Dimension, in NativeSpan.Ref(packed), shift, in NativeSpan.Ref(rhs),
            ref NativeSpan.Ref(solution), ref NativeSpan.Ref(work), work.Length);
        if (status == FednlStatus.ErrNotPositiveDefinite) return false;
        NativeError.Check((int)status);
        return true;
    }

    public void Dispose() => _workspace.Dispose();
}
