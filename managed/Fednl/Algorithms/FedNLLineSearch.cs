namespace Fednl.Algorithms;

/// <summary>
/// FedNL-LS (spec section 5): the FedNL round, then a backtracking line search along d = −(Hᵏ + l I)⁻¹ g: try
/// t = 1, γ, γ², … and accept the first t with f(x + t d) ≤ f(x) + c t ⟨g, d⟩. Each try costs every client one f_i.
/// If no try passes, the best tried point is taken when it lowers f, else the model stays (the shifts still move).
/// Near the optimum the predicted decrease c·t·⟨g, d⟩ falls below what f can resolve in FP64 (about 100 ulp of f);
/// the test then only compares rounding noise, so the full step is taken: the method is in its local, fast phase.
/// </summary>
internal static class FedNLLineSearch
{
    public static void Run(TrainingRun run)
    {
        var server = run.Server;
        var options = run.Options;
        int d = run.Dimension;
        var direction = new double[d];
        var trial = new double[d];
        int tries = 0, regularisations = 0;
        for (int k = 0; ; k++)
        {
            if (k == options.Rounds || run.StopRequested())
            {
                double loss = run.EvaluateAll(server.Model, server.Gradient);
                run.Record(k, loss, server.Gradient, server.Model, tries, regularisations: regularisations);
                return;
            }
            run.CountBroadcast(run.ClientCount);
            run.Transport.Round(server.Model, k, run.Alpha, run.Updates);
            run.CountUpdates(run.Updates);
            server.Aggregate(run.Updates);
            if (run.Record(k, server.Loss, server.Gradient, server.Model, tries, regularisations: regularisations)) return;

            server.Direction(server.DifferenceNorm, direction);
            regularisations = server.LastSolveRegularisations;
            double slope = 0;
            for (int i = 0; i < d; i++) slope += server.Gradient[i] * direction[i];

            double f0 = server.Loss, t = 1, bestLoss = f0, bestT = 0;
            if (-options.LineSearchC * slope <= 100 * Ulp(f0))
            {
                tries = 0;
                for (int i = 0; i < d; i++) server.Model[i] += direction[i];
                server.FoldDifferences(run.Updates, run.Alpha);
                continue;
            }
            for (tries = 1; ; tries++)
            {
                for (int i = 0; i < d; i++) trial[i] = server.Model[i] + t * direction[i];
                run.CountBroadcast(run.ClientCount);
                run.Transport.Losses(trial, run.Losses);
                run.CountScalars(run.ClientCount);
                double ft = Mean(run.Losses);
                if (ft < bestLoss) (bestLoss, bestT) = (ft, t);
                if (ft <= f0 + options.LineSearchC * t * slope) { bestT = t; break; }
                if (tries == options.LineSearchMaxTries) break;
                t *= options.LineSearchGamma;
            }
            for (int i = 0; i < d; i++) server.Model[i] += bestT * direction[i];
            server.FoldDifferences(run.Updates, run.Alpha);
        }
    }

    private static double Ulp(double v) => Math.BitIncrement(Math.Abs(v)) - Math.Abs(v);

    private static double Mean(ReadOnlySpan<double> values)
    {
        double s = 0;
        foreach (double v in values) s += v;
        return s / values.Length;
    }
}
