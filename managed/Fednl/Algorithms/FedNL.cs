namespace Fednl.Algorithms;

/// <summary>
/// FedNL (spec section 3). Round k: every client sends g_i, l_i, f_i and S_i = C(∇²f_i(xᵏ) − H_i) and moves its
/// shift; the server takes x ← x − (Hᵏ + s I)⁻¹ g with s = l (option 2) or s = λ (option 1), and folds the S_i
/// into H. With <see cref="HessianRule.AfterUpdate"/> the fold comes before the step.
/// </summary>
internal static class FedNL
{
    public static void Run(TrainingRun run)
    {
        var server = run.Server;
        var options = run.Options;
        int regularisations = 0;
        for (int k = 0; ; k++)
        {
            if (k == options.Rounds || run.StopRequested())
            {
                double loss = run.EvaluateAll(server.Model, server.Gradient);
                run.Record(k, loss, server.Gradient, server.Model, regularisations: regularisations);
                return;
            }
            run.CountBroadcast(run.ClientCount);
            run.Transport.Round(server.Model, k, run.Alpha, run.Updates);
            run.CountUpdates(run.Updates);
            server.Aggregate(run.Updates);
            if (run.Record(k, server.Loss, server.Gradient, server.Model, regularisations: regularisations)) return;

            double shift = options.Option == Compression.FedNLOption.Option2 ? server.DifferenceNorm : options.Lambda;
            if (options.HessianRule == HessianRule.AfterUpdate) server.FoldDifferences(run.Updates, run.Alpha);
            server.NewtonStep(shift);
            regularisations = server.LastSolveRegularisations;
            if (options.HessianRule == HessianRule.BeforeUpdate) server.FoldDifferences(run.Updates, run.Alpha);
        }
    }
}
