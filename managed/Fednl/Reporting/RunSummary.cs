using System.Globalization;
using System.Text;

namespace Fednl.Reporting;

/// <summary>The one-line JSON summary `fednl train --json` prints last, and a one-line label for plots.</summary>
public static class RunSummary
{
    /// <remarks>
    /// Written by hand (<see cref="JsonLine"/>): the line is printed when the run's memory is at its highest, and
    /// loading System.Text.Json's writer for it raised a phishing run's peak by about 2 MB.
    /// </remarks>
    public static string ToJson(TrainingResult result, double setupSeconds)
    {
        var final = result.Final;
        var o = result.Options;
        var json = new JsonLine();
        json.Finite("f", final.Loss);
        json.Finite("grad_norm", final.GradientNorm);
        json.Finite("x_norm", final.ModelNorm);
        json.Number("rounds", final.Round);
        json.Finite("train_seconds", result.TrainSeconds);
        json.Finite("setup_seconds", setupSeconds);
        json.Number("bytes_up", final.BytesUp);
        json.Number("bytes_up_values", final.BytesUpValues);
        json.Number("bytes_up_indices", final.BytesUpIndices);
        json.Number("bytes_down", final.BytesDown);
        json.Number("dropped_samples", result.DroppedSamples);
        json.Number("clients", result.Clients);
        json.Number("dimension", result.Dimension);
        json.String("algorithm", AlgorithmFlag(o.Algorithm));
        json.String("compressor", o.Compressor.ToString().ToLowerInvariant());
        json.Number("k", result.K);
        json.Finite("alpha", result.Alpha);
        json.Finite("lambda", o.Lambda);
        json.Number("option", (int)o.Option);
        json.Number("seed", o.Seed);
        json.Boolean("converged", result.Converged);
        json.String("stop_reason", TrainingResult.Flag(result.StopReason));
        json.Boolean("cancelled", result.Cancelled);
        json.Boolean("scaled", result.FeatureScales is not null);
        if (result.StopMessage is { } why) json.String("stop_message", why);
        var phases = result.Phases;
        json.StartObject("phases");
        json.Finite("oracle", phases.Oracle);
        json.Finite("hessian", phases.Hessian);
        json.Finite("compression", phases.Compression);
        json.Finite("aggregation", phases.Aggregation);
        json.Finite("solve", phases.Solve);
        json.EndObject();
        json.Number("gc_during_rounds", result.CollectionsDuringRounds);
        json.Number("allocated_bytes_during_rounds", result.AllocatedBytesDuringRounds);
        if (PeakMemory.ResidentBytes() is { } peak) json.Number("peak_rss_bytes", peak);
        if (result.TestAccuracy is { } accuracy) json.Finite("test_accuracy", accuracy);
        return json.Close();
    }

    public static string AlgorithmFlag(Configuration.Algorithm algorithm) => algorithm switch
    {
        Configuration.Algorithm.FedNL => "fednl",
        Configuration.Algorithm.FedNLLineSearch => "fednl-ls",
        Configuration.Algorithm.FedNLPartialParticipation => "fednl-pp",
        _ => "gd",
    };

    /// <summary>"fednl randk k=8 n=142 λ=0.001 seed=123": what tells runs apart in a plot legend.</summary>
    public static string Label(TrainingResult result, string dataName)
    {
        var o = result.Options;
        string compressor = o.Algorithm == Configuration.Algorithm.GradientDescent ? "" : $" {o.Compressor.ToString().ToLowerInvariant()}";
        string k = o.Compressor is Compression.CompressorKind.Identical or Compression.CompressorKind.Natural ? "" : $" k-mult={o.KMultiplier}";
        var c = CultureInfo.InvariantCulture;
        var extra = new StringBuilder();
        // Every other setting that changes the run, so that a plot's legend can show all that differ.
        if (o.Algorithm == Configuration.Algorithm.FedNLPartialParticipation) extra.Append(c, $" tau={o.ClientsPerRoundFor(result.Clients)}");
        if (o.Algorithm == Configuration.Algorithm.FedNLLineSearch) extra.Append(c, $" line-search-tries={o.LineSearchMaxTries}");
        if (o.Alpha is { } alpha) extra.Append(c, $" alpha={alpha}");
        if (o.HessianRule != Configuration.HessianRule.BeforeUpdate) extra.Append(" hessian-rule=after");
        if (o.HessianPath != Configuration.HessianPath.Auto) extra.Append(c, $" hessian-path={o.HessianPath.ToString().ToLowerInvariant()}");
        if (o.Tolerance > 0) extra.Append(c, $" tolerance={o.Tolerance}");
        if (o.KeepAllSamples) extra.Append(" keep-all");
        return $"{dataName} {AlgorithmFlag(o.Algorithm)}{compressor}{k} n={result.Clients} option={(int)o.Option} λ={o.Lambda} seed={o.Seed}{extra}";
    }
}
