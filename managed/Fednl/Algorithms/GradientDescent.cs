namespace Fednl.Algorithms;

/// <summary>
/// Gradient descent, the first-order baseline: x ← x − η ∇f(x) with η = 1/L, L = λ + max_j ‖a_j‖² / 4 (a bound on
/// the logistic loss's curvature), or η = α when α is given.
/// </summary>
internal static class GradientDescent
{
    public static void Run(TrainingRun run, double stepSize)
    {
        var server = run.Server;
        for (int k = run.StartRound; ; k++)
        {
            bool stop = run.AtRoundStart(k);
            double loss = run.EvaluateAll(server.Model, server.Gradient);
            if (run.Record(k, loss, server.Gradient, server.Model, participants: TrainingRun.Count(run.Transport.Answered),
                    missing: TrainingRun.Missing(run.Transport.Answered)) || stop)
                return;
            for (int i = 0; i < run.Dimension; i++) server.Model[i] -= stepSize * server.Gradient[i];
        }
    }
}
