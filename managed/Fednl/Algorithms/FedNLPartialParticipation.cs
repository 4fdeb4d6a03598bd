using Fednl.Clients;
using Fednl.Data;

namespace Fednl.Algorithms;

/// <summary>
/// FedNL-PP (spec section 6). The server keeps H, l and g as means over all n clients; each round
/// x = (H + l I)⁻¹ g, then τ clients sampled without replacement update their w_i, H_i, l_i, g_i and send S_i and
/// the changes of l_i and g_i. The history's f and ‖∇f‖ come from a full evaluation at each model, which is for
/// reporting only (its traffic is not counted as the algorithm's). A sampled client a networked run lost simply
/// does not update this round, as if it had not been sampled.
/// </summary>
internal static class FedNLPartialParticipation
{
    public static void Run(TrainingRun run)
    {
        var server = run.Server;
        var options = run.Options;
        int n = run.ClientCount, tau = options.ClientsPerRoundFor(n);
        var selected = new int[tau];
        var chosen = new bool[n];
        var trackedGradient = new double[run.Dimension];
        var updates = run.Updates.AsSpan(0, tau);
        int[] missing = [];
        int participants = run.StartRound == 0 ? n : tau;
        for (int k = run.StartRound; ; k++)
        {
            bool stop = run.AtRoundStart(k);
            double loss = run.EvaluateAll(server.Model, trackedGradient, reportingOnly: true);
            bool done = run.Record(k, loss, trackedGradient, server.Model, participants: participants,
                regularisations: run.Regularisations, missing: missing);
            if (done || stop) return;

            server.SolveForModel();
            run.Regularisations = server.LastSolveRegularisations;
            new SplitMix64(SeedSequence.Sampling(options.Seed, k)).SampleWithoutReplacement(n, selected, chosen);
            var answered = run.Round(k, selected, participate: true)[..tau];
            participants = TrainingRun.Count(answered);
            missing = TrainingRun.Missing(answered, selected);
            run.CountBroadcast(participants);
            run.CountUpdates(updates, answered);
            server.FoldDifferences(updates, answered, run.Alpha);
            server.FoldPartialDeltas(updates, answered);
        }
    }
}
