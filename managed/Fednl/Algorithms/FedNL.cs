using Fednl.Configuration;

namespace Fednl.Algorithms;

/// <summary>
/// FedNL (spec section 3). Round k: every client sends g_i, l_i, f_i and S_i = C(∇²f_i(xᵏ) − H_i) and moves its
/// shift; the server takes x ← x − (Hᵏ + s I)⁻¹ g with s = l (option 2) or s = λ (option 1), and folds the S_i
/// into H. With <see cref="HessianRule.AfterUpdate"/> the fold comes before the step. Clients a networked run
/// lost are left out of every mean, H included (<see cref="TrainingRun.FollowMembers"/>), until they rejoin.
/// With <see cref="StepSize.Damped"/> the step along d = −(H + s I)⁻¹ g is t = ln(1 + β)/β, β = M‖d‖.
/// </summary>
internal static class FedNL
{
    public static void Run(TrainingRun run)
    {
        var server = run.Server;
        var options = run.Options;
        bool damped = options.StepSize == StepSize.Damped;
        var direction = damped ? new double[run.Dimension] : [];
        for (int k = run.StartRound; ; k++)
        {
            if (run.AtRoundStart(k))
            {
                double loss = run.EvaluateAll(server.Model, server.Gradient);
                run.Record(k, loss, server.Gradient, server.Model, regularisations: run.Regularisations,
                    participants: TrainingRun.Count(run.Transport.Answered), missing: TrainingRun.Missing(run.Transport.Answered));
                return;
            }
            var answered = run.Round(k);
            run.CountBroadcast(TrainingRun.Count(answered));
            run.CountUpdates(run.Updates, answered);
            server.Aggregate(run.Updates, answered);
            if (run.Record(k, server.Loss, server.Gradient, server.Model, regularisations: run.Regularisations,
                    participants: TrainingRun.Count(answered), missing: TrainingRun.Missing(answered)))
                return;

            double shift = options.Option == Compression.FedNLOption.Option2 ? server.DifferenceNorm : options.Lambda;
            if (damped)
            {
                if (options.HessianRule == HessianRule.AfterUpdate)
                {
                    server.FoldDifferences(run.Updates, answered, run.Alpha);
                    server.Solve(shift, server.Gradient, direction);
                    for (int i = 0; i < direction.Length; i++) direction[i] = -direction[i];
                }
                else
                {
                    server.DirectionThenFold(shift, direction, run.Updates, answered, run.Alpha);
                }
                double beta = run.RowNormBound * TrainingRun.Norm(direction);
                double t = beta > 0 ? Math.Log(1 + beta) / beta : 1;
                for (int i = 0; i < direction.Length; i++) server.Model[i] += t * direction[i];
            }
            else if (options.HessianRule == HessianRule.AfterUpdate)
            {
                server.FoldDifferences(run.Updates, answered, run.Alpha);
                server.NewtonStep(shift);
            }
            else
            {
                server.NewtonStepThenFold(shift, run.Updates, answered, run.Alpha);
            }
            run.Regularisations = server.LastSolveRegularisations;
            run.FollowMembers(answered);
        }
    }
}
