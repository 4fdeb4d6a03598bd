using Fednl.Messages;
using Fednl.Reporting;

namespace Fednl.Algorithms;

/// <summary>
/// FedNL-LS (spec section 5): the FedNL round, then a backtracking line search along d = −(Hᵏ + s I)⁻¹ g with
/// s = λ (option 1) or s = l (option 2): try t = 1, γ, γ², … and accept the first t with
/// f(x + t d) ≤ f(x) + c t ⟨g, d⟩. Each try costs every client one f_i. Hᵏ + s I is positive definite (the solve
/// shifts it until it is), so d is a descent direction and some t passes; with option 1 the method is then globally
/// convergent and fast once Hᵏ is accurate. If the cap on tries is reached, the best tried point is taken when it
/// lowers f and the next history row says so; when no tried point lowers f the run stops as stalled.
/// Near the optimum the predicted decrease c·t·⟨g, d⟩ falls below what f can resolve in FP64 (about 100 ulp of f);
/// the test then only compares rounding noise, so the full step is taken: the method is in its local, fast phase.
/// When a networked run loses a client during the tries, f(x) and f(x + t d) are compared over the clients that
/// answered both.
/// </summary>
internal static class FedNLLineSearch
{
    public static void Run(TrainingRun run)
    {
        var server = run.Server;
        var options = run.Options;
        int d = run.Dimension, n = run.ClientCount;
        var direction = new double[d];
        var trial = new double[d];
        var roundAnswered = new bool[n];
        for (int k = run.StartRound; ; k++)
        {
            if (run.AtRoundStart(k))
            {
                double loss = run.EvaluateAll(server.Model, server.Gradient);
                run.Record(k, loss, server.Gradient, server.Model, run.LineSearchTries, regularisations: run.Regularisations,
                    participants: TrainingRun.Count(run.Transport.Answered), missing: TrainingRun.Missing(run.Transport.Answered));
                return;
            }
            run.Round(k).CopyTo(roundAnswered);
            int answeredCount = TrainingRun.Count(roundAnswered);
            run.CountBroadcast(answeredCount);
            run.CountUpdates(run.Updates, roundAnswered);
            server.Aggregate(run.Updates, roundAnswered);
            if (run.Record(k, server.Loss, server.Gradient, server.Model, run.LineSearchTries, participants: answeredCount,
                    regularisations: run.Regularisations, missing: TrainingRun.Missing(roundAnswered)))
                return;

            // the line search only evaluates f_i, so H can move to Hᵏ⁺¹ while the direction is solved with Hᵏ
            double shift = options.Option == Compression.FedNLOption.Option2 ? server.DifferenceNorm : options.Lambda;
            server.DirectionThenFold(shift, direction, run.Updates, roundAnswered, run.Alpha);
            run.Regularisations = server.LastSolveRegularisations;
            run.FollowMembers(roundAnswered);
            double slope = 0;
            for (int i = 0; i < d; i++) slope += server.Gradient[i] * direction[i];

            double f0 = server.Loss, t = 1, bestLoss = f0, bestT = 0;
            if (-options.LineSearchC * slope <= 100 * Ulp(f0))
            {
                run.LineSearchTries = 0;
                for (int i = 0; i < d; i++) server.Model[i] += direction[i];
                continue;
            }
            bool passed = false;
            for (int tries = 1; ; tries++)
            {
                run.LineSearchTries = tries;
                for (int i = 0; i < d; i++) trial[i] = server.Model[i] + t * direction[i];
                var answered = run.LossesAt(trial);
                int both = CountBoth(roundAnswered, answered);
                run.CountBroadcast(TrainingRun.Count(answered));
                run.CountScalars(TrainingRun.Count(answered));
                double ft = MeanOver(run.Losses, roundAnswered, answered);
                // f(x) over the same clients as f(x + t d): the round's f unless someone was lost since.
                double reference = both == answeredCount ? f0 : MeanOver(run.Updates, roundAnswered, answered);
                if (both == answeredCount ? ft < bestLoss : ft - reference < bestLoss - f0)
                    (bestLoss, bestT) = (both == answeredCount ? ft : f0 + (ft - reference), t);
                if (ft <= reference + options.LineSearchC * t * slope) { bestT = t; passed = true; break; }
                if (tries == options.LineSearchMaxTries) break;
                t *= options.LineSearchGamma;
            }
            if (!passed)
            {
                string tried = FormattableString.Invariant($"line search in round {k}: no t in [{t:G3}, 1] passed the Armijo test ({run.LineSearchTries} tries)");
                if (bestT == 0)
                {
                    string why = t > 1e-10
                        ? "the cap on tries ended the search early (raise --line-search-tries)"
                        : "f may be at the limit of FP64 precision here, or the Hessian estimate is too poor" +
                          (options.Option == Compression.FedNLOption.Option2 ? " (try --option 1)" : "");
                    run.Stop(StopReason.Stalled, $"stalled: {tried} and none lowered f; the model stays. {why}");
                    return;
                }
                run.PendingNote = FormattableString.Invariant($"{tried}; took t = {bestT:G3}, which lowered f");
            }
            for (int i = 0; i < d; i++) server.Model[i] += bestT * direction[i];
        }
    }

    private static double Ulp(double v) => Math.BitIncrement(Math.Abs(v)) - Math.Abs(v);

    private static int CountBoth(ReadOnlySpan<bool> a, ReadOnlySpan<bool> b)
    {
        int count = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] && b[i]) count++;
        return count;
    }

    private static double MeanOver(ReadOnlySpan<double> values, ReadOnlySpan<bool> a, ReadOnlySpan<bool> b)
    {
        double s = 0;
        int count = 0;
        for (int i = 0; i < values.Length; i++)
            if (a[i] && b[i]) { s += values[i]; count++; }
        if (count == 0) throw new InvalidOperationException("no client answered the line search");
        return s / count;
    }

    private static double MeanOver(ReadOnlySpan<ClientReply> updates, ReadOnlySpan<bool> a, ReadOnlySpan<bool> b)
    {
        double s = 0;
        int count = 0;
        for (int i = 0; i < updates.Length; i++)
            if (a[i] && b[i]) { s += updates[i].Loss; count++; }
        if (count == 0) throw new InvalidOperationException("no client answered the line search");
        return s / count;
    }
}
