using System.Text.Json.Nodes;
using System.Text.Json;

namespace Fednl.Reporting;

/// <summary>The one-line JSON summary `fednl train --json` prints last, and a one-line label for plots.</summary>
public static class RunSummary
{
    public static string ToJson(TrainingResult result, double setupSeconds)
    {
        var final = result.Final;
        var o = result.Options;
        var json = new JsonObject
        {
            ["f"] = Finite(final.Loss),
            ["grad_norm"] = Finite(final.GradientNorm),
            ["x_norm"] = Finite(final.ModelNorm),
            ["rounds"] = final.Round,
            ["train_seconds"] = result.TrainSeconds,
            ["setup_seconds"] = setupSeconds,
            ["bytes_up"] = final.BytesUp,
            ["bytes_up_values"] = final.BytesUpValues,
            ["bytes_up_indices"] = final.BytesUpIndices,
            ["bytes_down"] = final.BytesDown,
            ["dropped_samples"] = result.DroppedSamples,
            ["clients"] = result.Clients,
            ["dimension"] = result.Dimension,
            ["algorithm"] = AlgorithmFlag(o.Algorithm),
            ["compressor"] = o.Compressor.ToString().ToLowerInvariant(),
            ["k"] = result.K,
            ["alpha"] = result.Alpha,
            ["lambda"] = o.Lambda,
            ["option"] = (int)o.Option,
            ["seed"] = o.Seed,
            ["converged"] = result.Converged,
            ["stop_reason"] = TrainingResult.Flag(result.StopReason),
            ["cancelled"] = result.Cancelled,
            ["scaled"] = result.FeatureScales is not null,
        };
        if (result.StopMessage is { } why) json["stop_message"] = why;
        var phases = result.Phases;
        json["phases"] = new JsonObject
        {
            ["oracle"] = phases.Oracle,
            ["hessian"] = phases.Hessian,
            ["compression"] = phases.Compression,
            ["aggregation"] = phases.Aggregation,
            ["solve"] = phases.Solve,
        };
        json["gc_during_rounds"] = result.CollectionsDuringRounds;
        json["allocated_bytes_during_rounds"] = result.AllocatedBytesDuringRounds;
        if (PeakMemory.ResidentBytes() is { } peak) json["peak_rss_bytes"] = peak;
        if (result.TestAccuracy is { } accuracy) json["test_accuracy"] = accuracy;
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    /// <summary>JSON has no infinity or NaN: a diverged run's non-finite values are written as null.</summary>
    private static JsonNode? Finite(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

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
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var extra = new System.Text.StringBuilder();
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
