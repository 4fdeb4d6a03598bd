namespace Fednl.Algorithms;

/// <summary>
/// FedNL-PP (spec section 6). The server keeps H, l and g as means over all n clients; each round
/// x = (H + l I)⁻¹ g, then τ clients sampled without replacement update their w_i, H_i, l_i, g_i and send S_i and
/// the changes of l_i and g_i. The history's f and ‖∇f‖ come from a full evaluation at each model, which is for
/// reporting only (its traffic is not counted as the algorithm's).
/// </summary>
internal static class FedNLPartialParticipation
{
    public static void Run(TrainingRun run)
    {
        var server = run.Server;
        var options = run.Options;
        int n = run.ClientCount, tau = Math.Min(options.ClientsPerRound, n);
        var selected = new int[tau];
        var chosen = new bool[n];
        var trackedGradient = new double[run.Dimension];
        var updates = run.Updates.AsSpan(0, tau);
        int regularisations = 0;
        for (int k = 0; ; k++)
        {
            double loss = run.EvaluateAll(server.Model, trackedGradient, reportingOnly: true);
            bool done = run.Record(k, loss, trackedGradient, server.Model, participants: k == 0 ? n : tau,
                regularisations: regularisations);
            if (done || k == options.Rounds || run.StopRequested()) return;

            server.SolveForModel();
            regularisations = server.LastSolveRegularisations;
            new SplitMix64(SeedSequence.Sampling(options.Seed, k)).SampleWithoutReplacement(n, selected, chosen);
            run.CountBroadcast(tau);
            run.Transport.Participate(server.Model, k, run.Alpha, selected, run.Updates);
            run.CountUpdates(updates);
            server.FoldDifferences(updates, run.Alpha);
            server.FoldPartialDeltas(updates);
        }
    }
}
