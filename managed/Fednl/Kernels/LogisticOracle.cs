using Fednl.Interop;

namespace Fednl.Kernels;

/// <summary>
/// One client's logistic-regression oracle (spec section 1):
/// f(x) = (1/m) Σ log(1 + exp(−b_j a_jᵀx)) + (λ/2)‖x‖², its gradient and its Hessian (packed upper triangle).
/// Pass an empty span for an output you do not need.
/// </summary>
public static class LogisticOracle
{
    /// <summary>
    /// Sparse path: f, and the gradient, the packed Hessian (by sparse rank-1 accumulation) and the Hessian's row
    /// weights s_j(1 − s_j)/m (what <see cref="HessianPlan.Hessian"/> gathers) when those spans are not empty. Returns f.
    /// </summary>
    public static double EvaluateSparse(CsrSpan data, ReadOnlySpan<double> labels, ReadOnlySpan<double> x, double lambda,
        Span<double> margins, Span<double> gradient = default, Span<double> hessianPacked = default, Span<double> weights = default)
    {
        CheckShapes(data.Rows, data.Columns, labels, x, margins, gradient, hessianPacked);
        if (!weights.IsEmpty && weights.Length < data.Rows)
            throw new ArgumentException($"weights need {data.Rows} entries, got {weights.Length}", nameof(weights));
        FednlNative.EnsureLoaded();
        double f = 0;
        NativeError.Check(NativeMethods.fednl_logreg_sparse(data.Rows, data.Columns,
            in NativeSpan.Ref(data.RowPointers), in NativeSpan.Ref(data.ColumnIndices), in NativeSpan.Ref(data.Values),
            in NativeSpan.Ref(labels), in NativeSpan.Ref(x), lambda, ref NativeSpan.Ref(margins), ref f,
            ref NativeSpan.Ref(gradient), ref NativeSpan.Ref(hessianPacked), ref NativeSpan.Ref(weights)));
        return f;
    }

    /// <summary>Doubles of workspace <see cref="EvaluateDense"/> needs for a rows x columns client.</summary>
    public static long DenseWorkspaceLength(int rows, int columns)
    {
        FednlNative.EnsureLoaded();
        return NativeMethods.fednl_logreg_dense_workspace(rows, columns);
    }

    /// <summary>
    /// Dense path on row-major data (rows x columns): the Hessian through OpenBLAS dsyrk, and the Hessian's row weights
    /// s_j(1 − s_j)/m (what <see cref="DenseHessian"/> and the fused dense step take) when <paramref name="weights"/> is
    /// not empty. Returns f.
    /// </summary>
    public static double EvaluateDense(ReadOnlySpan<double> rowMajor, int rows, int columns, ReadOnlySpan<double> labels,
        ReadOnlySpan<double> x, double lambda, Span<double> margins, Span<double> gradient, Span<double> hessianPacked,
        Span<double> workspace, Span<double> weights = default)
    {
        CheckRows(rowMajor, rows, columns);
        CheckShapes(rows, columns, labels, x, margins, gradient, hessianPacked);
        if (!weights.IsEmpty && weights.Length < rows)
            throw new ArgumentException($"weights need {rows} entries, got {weights.Length}", nameof(weights));
        FednlNative.EnsureLoaded();
        double f = 0;
        NativeError.Check(NativeMethods.fednl_logreg_dense(rows, columns, in NativeSpan.Ref(rowMajor),
            in NativeSpan.Ref(labels), in NativeSpan.Ref(x), lambda, ref NativeSpan.Ref(margins), ref f,
            ref NativeSpan.Ref(gradient), ref NativeSpan.Ref(hessianPacked), ref NativeSpan.Ref(weights),
            ref NativeSpan.Ref(workspace), workspace.Length));
        return f;
    }

    /// <summary>
    /// The packed Hessian Σ_j w_j a_j a_jᵀ + λI of dense rows without BLAS, summed in a fixed order (fednl_dense_hessian):
    /// the same bits with every kernel variant and on every machine, and the Hessian the fused dense step forms.
    /// </summary>
    public static void DenseHessian(ReadOnlySpan<double> rowMajor, int rows, int columns, ReadOnlySpan<double> weights,
        double lambda, Span<double> hessianPacked)
    {
        CheckRows(rowMajor, rows, columns);
        if (weights.Length < rows) throw new ArgumentException($"weights need {rows} entries, got {weights.Length}", nameof(weights));
        PackedSymmetric.CheckLength(columns, hessianPacked.Length, nameof(hessianPacked));
        FednlNative.EnsureLoaded();
        NativeError.Check(NativeMethods.fednl_dense_hessian(rows, columns, in NativeSpan.Ref(rowMajor), in NativeSpan.Ref(weights),
            lambda, ref NativeSpan.Ref(hessianPacked)));
    }

    private static void CheckRows(ReadOnlySpan<double> rowMajor, int rows, int columns)
    {
        if (rowMajor.Length < (long)rows * columns)
            throw new ArgumentException($"dense data needs {(long)rows * columns} entries, got {rowMajor.Length}", nameof(rowMajor));
    }

    private static void CheckShapes(int rows, int columns, ReadOnlySpan<double> labels, ReadOnlySpan<double> x,
        Span<double> margins, Span<double> gradient, Span<double> hessianPacked)
    {
        if (labels.Length < rows) throw new ArgumentException($"{rows} rows need {rows} labels, got {labels.Length}", nameof(labels));
        if (x.Length != columns) throw new ArgumentException($"x has {x.Length} entries, the data {columns} columns", nameof(x));
        if (margins.Length < rows) throw new ArgumentException($"margins need {rows} entries, got {margins.Length}", nameof(margins));
        if (!gradient.IsEmpty && gradient.Length < columns)
            throw new ArgumentException($"gradient needs {columns} entries, got {gradient.Length}", nameof(gradient));
        if (!hessianPacked.IsEmpty) PackedSymmetric.CheckLength(columns, hessianPacked.Length, nameof(hessianPacked));
    }
}
