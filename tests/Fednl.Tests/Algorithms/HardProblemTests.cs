using Fednl.Algorithms;
using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Reporting;

namespace Fednl.Tests.Algorithms;

/// <summary>
/// FedNL from x⁰ = 0 on the two hard shapes (<see cref="HardProblems"/>): FedNL-LS with option 1, and FedNL option 1
/// with the damped step, reach ‖∇f‖ ≤ 1e-10 at the independent optimum; plain FedNL option 1 diverges on
/// near-separable data and says so; a
/// line search held to too few tries stalls and says so; --scale trains the scaled problem and reports the model in
/// the original coordinates.
/// </summary>
public sealed class HardProblemTests
{
    private static readonly Lazy<IReadOnlyList<Dataset>> Unscaled =
        new(() => ClientSplit.Split(HardProblems.Unscaled(), HardProblems.UnscaledClients, 123).Clients);
    private static readonly Lazy<IReadOnlyList<Dataset>> NearSeparable =
        new(() => ClientSplit.Split(HardProblems.NearSeparable(), HardProblems.NearSeparableClients, 123).Clients);
    private static readonly Lazy<(double F, double[] X, double GradientNorm)> UnscaledOptimum =
        new(() => CentralisedNewton.Solve(Unscaled.Value, 1e-3, 200));
    private static readonly Lazy<(double F, double[] X, double GradientNorm)> NearSeparableOptimum =
        new(() => CentralisedNewton.Solve(NearSeparable.Value, 1e-3, 200));

    private static TrainingResult Train(IReadOnlyList<Dataset> clients, TrainingOptions options) =>
        FedNLTrainer.Train(clients, 0, options with { Clients = clients.Count, Threads = 2 });

    /// <summary>‖∇f‖ ≤ 1e-10, f equal to the reference to 1e-10 relative, x within the strong-convexity bound.</summary>
    internal static void AssertAtOptimum(TrainingResult result, (double F, double[] X, double GradientNorm) optimum, double lambda)
    {
        Assert.That(optimum.GradientNorm, Is.LessThan(1e-11), "the reference solver converged");
        Assert.That(result.StopReason, Is.EqualTo(StopReason.Tolerance), result.StopMessage);
        Assert.That(result.Converged, Is.True);
        Assert.That(result.Final.GradientNorm, Is.LessThanOrEqualTo(1e-10));
        Assert.That(Math.Abs(result.Final.Loss - optimum.F) / optimum.F, Is.LessThanOrEqualTo(1e-10), $"f = {result.Final.Loss:R}, optimum {optimum.F:R}");
        // f is λ-strongly convex: ‖x − x*‖ ≤ (‖∇f(x)‖ + ‖∇f(x*)‖) / λ
        double distance = Math.Sqrt(result.Model.Zip(optimum.X, (a, b) => (a - b) * (a - b)).Sum());
        Assert.That(distance, Is.LessThanOrEqualTo((result.Final.GradientNorm + optimum.GradientNorm) / lambda));
    }

    [Test]
    public void FedNL_LS_option_1_converges_on_unscaled_data_where_option_2_crawls()
    {
        var options = new TrainingOptions { Algorithm = Algorithm.FedNLLineSearch, Option = FedNLOption.Option1, Rounds = 500, Tolerance = 1e-10 };
        var result = Train(Unscaled.Value, options);
        AssertAtOptimum(result, UnscaledOptimum.Value, 1e-3);
        for (int k = 1; k < result.History.Count; k++)
            Assert.That(result.History[k].Loss, Is.LessThanOrEqualTo(result.History[k - 1].Loss + 1e-15), $"f rose at round {k}");

        // the same run with option 2's direction −(Hᵏ + lᵏI)⁻¹g: the line search now honours the option, and l is huge here
        var crawl = Train(Unscaled.Value, options with { Option = FedNLOption.Option2, Rounds = 100 });
        Assert.That(crawl.StopReason, Is.EqualTo(StopReason.Rounds));
        Assert.That(crawl.Final.GradientNorm, Is.GreaterThan(1e-3));
    }

    [Test]
    public void FedNL_LS_option_1_converges_on_near_separable_data_with_more_features_than_samples_per_client()
    {
        var result = Train(NearSeparable.Value, new TrainingOptions
        {
            Algorithm = Algorithm.FedNLLineSearch, Option = FedNLOption.Option1, Compressor = CompressorKind.RandK, Rounds = 500, Tolerance = 1e-10,
        });
        AssertAtOptimum(result, NearSeparableOptimum.Value, 1e-3);
        Assert.That(result.History.Any(r => r.LineSearchTries > 1), Is.True, "the line search had work to do");
        Assert.That(result.History.All(r => r.Note.Length == 0), Is.True, "the cap on tries was never reached");
    }

    [Test]
    public void FedNL_option_1_diverges_on_near_separable_data_and_stops_saying_so()
    {
        // f swings between 0.07 and 1.6e8 for 1000 rounds without converging; the default bound (1e8 · f(x⁰)) is
        // first passed at round 623, so a tighter bound keeps the test short
        const double factor = 10;
        var result = Train(NearSeparable.Value, new TrainingOptions
        {
            Option = FedNLOption.Option1, Compressor = CompressorKind.RandK, Rounds = 500, DivergenceFactor = factor,
        });
        Assert.That(result.StopReason, Is.EqualTo(StopReason.Diverged));
        Assert.That(result.Converged, Is.False);
        var last = result.Final;
        Assert.That(last.Loss, Is.GreaterThan(factor * result.History[0].Loss));
        Assert.That(result.History.Take(result.History.Count - 1).All(r => r.Loss <= factor * result.History[0].Loss),
            Is.True, "it stopped at the first row past the bound");
        Assert.That(result.Rounds, Is.LessThan(500));
        Assert.That(result.StopMessage, Does.Contain($"diverged at round {last.Round}").And.Contain("fednl-ls --option 1").And.Contain("--scale"));
        Assert.That(last.Note, Is.EqualTo(result.StopMessage), "the history says so");
    }

    [Test]
    public void The_damped_step_makes_FedNL_option_1_converge_on_near_separable_data()
    {
        var result = Train(NearSeparable.Value, new TrainingOptions
        {
            Option = FedNLOption.Option1, Compressor = CompressorKind.RandK, Rounds = 500, Tolerance = 1e-10, StepSize = StepSize.Damped,
        });
        AssertAtOptimum(result, NearSeparableOptimum.Value, 1e-3);
        Assert.That(result.History.Max(r => r.Loss), Is.LessThanOrEqualTo(result.History[0].Loss), "no excursion above f(x⁰)");
    }

    [Test]
    public void Non_finite_values_stop_the_run_as_diverged()
    {
        // a step size of 1e300 sends gradient descent's model to infinity at once
        var result = Train(Unscaled.Value, new TrainingOptions { Algorithm = Algorithm.GradientDescent, Alpha = 1e300, Rounds = 20, DivergenceFactor = 0 });
        Assert.That(result.StopReason, Is.EqualTo(StopReason.Diverged));
        Assert.That(result.Rounds, Is.LessThan(20));
        Assert.That(result.StopMessage, Does.Contain("diverged at round"));
    }

    [Test]
    public void A_line_search_held_to_one_try_stalls_and_says_so()
    {
        var result = Train(NearSeparable.Value, new TrainingOptions
        {
            Algorithm = Algorithm.FedNLLineSearch, Option = FedNLOption.Option1, Compressor = CompressorKind.RandK, Rounds = 500,
            Tolerance = 1e-10, LineSearchMaxTries = 1,
        });
        Assert.That(result.StopReason, Is.EqualTo(StopReason.Stalled));
        Assert.That(result.Final.GradientNorm, Is.GreaterThan(1e-10));
        Assert.That(result.StopMessage, Does.Contain("none lowered f").And.Contain("--line-search-tries"));
        Assert.That(result.Final.Note, Is.EqualTo(result.StopMessage));
        Assert.That(result.Converged, Is.False);
    }

    [Test]
    public void Scaling_trains_the_scaled_problem_and_reports_the_model_in_original_coordinates()
    {
        var clients = Unscaled.Value;
        var options = new TrainingOptions { Option = FedNLOption.Option2, Rounds = 500, Tolerance = 1e-10 };
        var scaled = Train(clients, options with { ScaleFeatures = true });
        Assert.That(scaled.StopReason, Is.EqualTo(StopReason.Tolerance), "option 2 converges once the features are scaled");
        Assert.That(scaled.Rounds, Is.LessThan(100));

        var divisors = FeatureScaling.Divisors(clients.Select(FeatureScaling.MaxAbs).ToArray());
        Assert.That(scaled.FeatureScales, Is.EqualTo(divisors));
        Assert.That(divisors.Max(), Is.GreaterThan(1e4), "the data is unscaled");
        Assert.That(divisors[^1], Is.EqualTo(1.0), "the intercept column is left as it is");
        var byHand = Train(clients.Select(c => FeatureScaling.Apply(c, divisors)).ToArray(), options);
        Network.Deployment.AssertSameHistory(byHand.History, scaled.History, "scaled by hand");
        Assert.That(scaled.Model, Is.EqualTo(FeatureScaling.ToOriginal(byHand.Model, divisors)));
        // the original-coordinate model makes the scaled model's predictions on the raw rows
        var raw = clients[0];
        for (int j = 0; j < raw.Samples; j++)
        {
            double original = 0, onScaled = 0;
            var idx = raw.RowIndices(j);
            var val = raw.RowValues(j);
            for (int k = 0; k < idx.Length; k++)
            {
                original += val[k] * scaled.Model[idx[k]];
                onScaled += val[k] / divisors[idx[k]] * byHand.Model[idx[k]];
            }
            Assert.That(original, Is.EqualTo(onScaled).Within(1e-12 * (1 + Math.Abs(onScaled))));
        }
    }

    [Test]
    public void Converged_means_the_final_gradient_is_small_whatever_the_tolerance()
    {
        var clients = Unscaled.Value;
        var options = new TrainingOptions { Algorithm = Algorithm.FedNLLineSearch, Option = FedNLOption.Option1, Rounds = 40 };
        var all = Train(clients, options);
        Assert.That(all.StopReason, Is.EqualTo(StopReason.Rounds));
        Assert.That(all.Final.GradientNorm, Is.LessThanOrEqualTo(TrainingOptions.DefaultConvergenceBar));
        Assert.That(all.Converged, Is.True, "no tolerance: converged compares with 1e-10");
        var few = Train(clients, options with { Rounds = 3 });
        Assert.That(few.Converged, Is.False);
        var strict = Train(clients, options with { Rounds = 3, Tolerance = 1e-300 });
        Assert.That((strict.StopReason, strict.Converged), Is.EqualTo((StopReason.Rounds, false)));
    }
}
