using Fednl.Algorithms;
using Fednl.Configuration;

namespace Fednl.Network;

/// <summary>
/// The start of a run whose server role sits behind a network: the normal master, and every private client (which
/// runs the server role itself). Both scale, set the step bounds and then initialise or resume in the same way.
/// </summary>
internal static class RunStart
{
    /// <summary>
    /// --scale before anything that depends on the data (gradient descent's step and the damped step use the scaled
    /// rows); then M = max ‖a_j‖ and gradient descent's step 1/L. Returns the divisors (null without --scale) and the step.
    /// </summary>
    public static (double[]? Scales, double StepSize) ScaleAndBound(TrainingRun run, double maxRowNormSquared)
    {
        var options = run.Options;
        double[]? scales = null;
        if (options.ScaleFeatures) (scales, maxRowNormSquared) = run.ScaleFeatures();
        run.RowNormBound = Math.Sqrt(maxRowNormSquared);
        double stepSize = options.Algorithm == Algorithm.GradientDescent ? options.Alpha ?? 1.0 / (options.Lambda + maxRowNormSquared / 4) : 0;
        return (scales, stepSize);
    }

    /// <summary>Forms H⁰ on the clients, or restores the server and every client from <paramref name="checkpoint"/>.</summary>
    public static void InitializeOrResume(TrainingRun run, MasterCheckpoint? checkpoint, Action<string> log, string what)
    {
        if (checkpoint is null)
        {
            FedNLTrainer.Initialize(run);
            return;
        }
        run.Server.Restore(checkpoint.Model, checkpoint.Hessian, checkpoint.Gradient, checkpoint.DifferenceNorm);
        run.Resume(checkpoint.Round, checkpoint.History, checkpoint.Traffic, checkpoint.Regularisations, checkpoint.LineSearchTries, checkpoint.Members);
        for (int i = 0; i < checkpoint.States.Length; i++) checkpoint.States[i].CopyTo(run.ClientStates![i]);
        run.RestoreAll(checkpoint.Round);
        log($"resumed {what} {checkpoint.RunId} at round {checkpoint.Round}");
    }
}
