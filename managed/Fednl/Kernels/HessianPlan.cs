using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>
/// A client's Hessian plan (fednl.h): its Hessian pattern — the packed entries its Hessian, and therefore its shift,
/// can ever hold — and, for sparse data, the row lists that form those entries by gathers each round. Built once
/// from the client's rows; values "over the pattern" are arrays of <see cref="PatternLength"/> doubles in pattern order.
/// </summary>
public sealed class HessianPlan
{
    private readonly ulong[] _words;
    private readonly int[]? _pattern;

    private HessianPlan(int dimension, int rows, ulong[] words, int[]? pattern, FednlHessianPlanInfo info, bool dense)
    {
        Dimension = dimension;
        Rows = rows;
        _words = words;
        _pattern = pattern;
        PatternLength = checked((int)info.PatternLength);
        Pairs = info.Pairs;
        ValuedEntries = info.ValuedEntries;
        IsDense = dense;
    }

    public int Dimension { get; }
    public int Rows { get; }

    /// <summary>True when the pattern is every packed entry and the Hessian comes from the dense oracle.</summary>
    public bool IsDense { get; }

    /// <summary>
    /// Ascending packed offsets of the pattern's entries. A dense plan's pattern is every entry, 0 … D − 1: it is not
    /// stored (on dense500 it would be half as large as the shifts), and this returns a new array of it.
    /// </summary>
    public int[] Pattern => _pattern ?? Enumerable.Range(0, PatternLength).ToArray();

    public int PatternLength { get; }

    /// <summary>Gathers one Hessian costs (Σ_j nnz_j (nnz_j + 1) / 2; 0 for a dense plan).</summary>
    public long Pairs { get; }

    /// <summary>Pattern entries whose row products differ (0 for 0/1-valued data).</summary>
    public long ValuedEntries { get; }

    /// <summary>Bytes the plan and its pattern take.</summary>
    public long Bytes => 8L * _words.Length + 4L * (_pattern?.Length ?? 0);

    internal ReadOnlySpan<ulong> Words => _words;

    /// <summary>The plan's length in words and its pattern length, without building it.</summary>
    public static (long Words, long PatternLength) Measure(CsrSpan data, bool dense)
    {
        FednlNative.EnsureLoaded();
        int kind = (int)(dense ? FednlHessianPlanKind.Dense : FednlHessianPlanKind.Sparse);
        long workLength = dense ? 0 : NativeMethods.fednl_hessian_plan_workspace(data.Rows, data.Columns);
        if (workLength < 0)
            throw new ArgumentException($"a Hessian plan needs 1 to 65535 columns, got {data.Columns}", nameof(data));
        // Pooled: measuring every client leaves no garbage behind for the rounds' collector to meet.
        var work = System.Buffers.ArrayPool<ulong>.Shared.Rent(checked((int)Math.Max(1, workLength)));
        try
        {
            var info = new FednlHessianPlanInfo();
            NativeError.Check(NativeMethods.fednl_hessian_plan_measure(data.Rows, data.Columns, in NativeSpan.Ref(data.RowPointers),
                in NativeSpan.Ref(data.ColumnIndices), in NativeSpan.Ref(data.Values), kind, ref info,
                ref NativeSpan.Ref(work.AsSpan(0, (int)workLength)), workLength));
            return (info.Words, info.PatternLength);
        }
        finally
        {
            System.Buffers.ArrayPool<ulong>.Shared.Return(work);
        }
    }

    /// <summary>Measures and builds the plan of a client's rows.</summary>
    public static HessianPlan Build(CsrSpan data, bool dense)
    {
        FednlNative.EnsureLoaded();
        int kind = (int)(dense ? FednlHessianPlanKind.Dense : FednlHessianPlanKind.Sparse);
        long workLength = dense ? 0 : NativeMethods.fednl_hessian_plan_workspace(data.Rows, data.Columns);
        if (workLength < 0)
            throw new ArgumentException($"a Hessian plan needs 1 to 65535 columns, got {data.Columns}", nameof(data));
        // Pooled like Measure's: building every client's plan leaves no workspaces behind as garbage, so the plans
        // themselves reuse the memory (it was the largest part of what setup allocated).
        var pooled = System.Buffers.ArrayPool<ulong>.Shared.Rent(checked((int)Math.Max(1, workLength)));
        try
        {
            var work = pooled.AsSpan(0, (int)workLength);
            var info = new FednlHessianPlanInfo();
            NativeError.Check(NativeMethods.fednl_hessian_plan_measure(data.Rows, data.Columns, in NativeSpan.Ref(data.RowPointers),
                in NativeSpan.Ref(data.ColumnIndices), in NativeSpan.Ref(data.Values), kind, ref info,
                ref NativeSpan.Ref(work), work.Length));
            var words = new ulong[info.Words];
            NativeError.Check(NativeMethods.fednl_hessian_plan_build(data.Rows, data.Columns, in NativeSpan.Ref(data.RowPointers),
                in NativeSpan.Ref(data.ColumnIndices), in NativeSpan.Ref(data.Values), kind, ref words[0], words.Length,
                ref NativeSpan.Ref(work), work.Length));
            if (dense) return new HessianPlan(data.Columns, data.Rows, words, null, info, dense);
            var pattern = new int[info.PatternLength];
            NativeError.Check(NativeMethods.fednl_hessian_plan_pattern(in words[0], words.Length, ref pattern[0], pattern.Length));
            return new HessianPlan(data.Columns, data.Rows, words, pattern, info, dense);
        }
        finally
        {
            System.Buffers.ArrayPool<ulong>.Shared.Return(pooled);
        }
    }

    /// <summary>
    /// The Hessian over the pattern: gathered from the oracle's row weights (sparse plan; <paramref name="weights"/>
    /// holds rows + 1 doubles, the last one the call zeroes for the lists' padding) or copied from the dense oracle's
    /// packed Hessian (dense plan).
    /// </summary>
    public void Hessian(Span<double> weights, double lambda, ReadOnlySpan<double> denseHessian, Span<double> hessian)
    {
        if (hessian.Length < PatternLength)
            throw new ArgumentException($"the pattern has {PatternLength} entries, the buffer {hessian.Length}", nameof(hessian));
        if (IsDense) PackedSymmetric.CheckLength(Dimension, denseHessian.Length, nameof(denseHessian));
        else if (weights.Length < Rows + 1)
            throw new ArgumentException($"{Rows} rows need {Rows + 1} weights, got {weights.Length}", nameof(weights));
        NativeError.Check(NativeMethods.fednl_plan_hessian(in _words[0], _words.Length, ref NativeSpan.Ref(weights),
            weights.Length, lambda, in NativeSpan.Ref(denseHessian), denseHessian.Length, ref NativeSpan.Ref(hessian),
            hessian.Length));
    }

    /// <summary>y = (H + shift·I) x for the symmetric H with these values over the pattern (a fixed summation order).</summary>
    public void Multiply(ReadOnlySpan<double> values, double shift, ReadOnlySpan<double> x, Span<double> y)
    {
        if (values.Length < PatternLength || x.Length != Dimension || y.Length != Dimension)
            throw new ArgumentException($"need {PatternLength} values and x, y of {Dimension}, got {values.Length}, {x.Length}, {y.Length}");
        NativeError.Check(NativeMethods.fednl_pattern_multiply(in _words[0], _words.Length, in NativeSpan.Ref(values),
            values.Length, shift, in NativeSpan.Ref(x), x.Length, ref NativeSpan.Ref(y), y.Length));
    }

    /// <summary>The packed matrix (D entries) of values over the pattern; zero elsewhere.</summary>
    public void Expand(ReadOnlySpan<double> values, Span<double> packed)
    {
        PackedSymmetric.CheckLength(Dimension, packed.Length, nameof(packed));
        if (_pattern is null)
        {
            values[..PatternLength].CopyTo(packed);
            return;
        }
        packed[..PackedSymmetric.Length(Dimension)].Clear();
        for (int t = 0; t < _pattern.Length; t++) packed[_pattern[t]] = values[t];
    }

    /// <summary>sum += values over the pattern (a packed sum of D entries).</summary>
    public void AddTo(ReadOnlySpan<double> values, Span<double> sum)
    {
        PackedSymmetric.CheckLength(Dimension, sum.Length, nameof(sum));
        if (_pattern is null)
        {
            for (int e = 0; e < PatternLength; e++) sum[e] += values[e];
            return;
        }
        for (int t = 0; t < _pattern.Length; t++) sum[_pattern[t]] += values[t];
    }

    /// <summary>
    /// The pattern's entries of a packed matrix. Throws when the matrix is non-zero off the pattern: such a matrix
    /// cannot be this client's Hessian or shift.
    /// </summary>
    public void Compact(ReadOnlySpan<double> packed, Span<double> values)
    {
        PackedSymmetric.CheckLength(Dimension, packed.Length, nameof(packed));
        if (_pattern is null)
        {
            packed[..PatternLength].CopyTo(values);
            return;
        }
        int t = 0;
        for (int e = 0; e < PackedSymmetric.Length(Dimension); e++)
        {
            if (t < _pattern.Length && _pattern[t] == e) values[t++] = packed[e];
            else if (packed[e] != 0)
                throw new ArgumentException($"packed entry {e} is {packed[e]}, but it lies off this client's Hessian pattern", nameof(packed));
        }
    }
}
