using System.Text.Json;

namespace Fednl.Reporting;

/// <summary>The one-line JSON summary `fednl train --json` prints last, and a one-line label for plots.</summary>
public static class RunSummary
{
    /// <remarks>
    /// Written with a <see cref="Utf8JsonWriter"/> (the default encoder, so strings are escaped as before): building
    /// a JsonObject and serialising it loaded and compiled enough of the serializer to raise the peak memory of a
    /// phishing run by about 3 MB, and this line is printed when the run's memory is at its highest.
    /// </remarks>
    public static string ToJson(TrainingResult result, double setupSeconds)
    {
        var final = result.Final;
        var o = result.Options;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            Finite(json, "f", final.Loss);
            Finite(json, "grad_norm", final.GradientNorm);
            Finite(json, "x_norm", final.ModelNorm);
            json.WriteNumber("rounds", final.Round);
            json.WriteNumber("train_seconds", result.TrainSeconds);
            json.WriteNumber("setup_seconds", setupSeconds);
            json.WriteNumber("bytes_up", final.BytesUp);
            json.WriteNumber("bytes_up_values", final.BytesUpValues);
            json.WriteNumber("bytes_up_indices", final.BytesUpIndices);
            json.WriteNumber("bytes_down", final.BytesDown);
            json.WriteNumber("dropped_samples", result.DroppedSamples);
            json.WriteNumber("clients", result.Clients);
            json.WriteNumber("dimension", result.Dimension);
            json.WriteString("algorithm", AlgorithmFlag(o.Algorithm));
            json.WriteString("compressor", o.Compressor.ToString().ToLowerInvariant());
            json.WriteNumber("k", result.K);
            json.WriteNumber("alpha", result.Alpha);
            json.WriteNumber("lambda", o.Lambda);
            json.WriteNumber("option", (int)o.Option);
            json.WriteNumber("seed", o.Seed);
            json.WriteBoolean("converged", result.Converged);
            json.WriteString("stop_reason", TrainingResult.Flag(result.StopReason));
            json.WriteBoolean("cancelled", result.Cancelled);
            json.WriteBoolean("scaled", result.FeatureScales is not null);
            if (result.StopMessage is { } why) json.WriteString("stop_message", why);
            var phases = result.Phases;
            json.WriteStartObject("phases");
            json.WriteNumber("oracle", phases.Oracle);
            json.WriteNumber("hessian", phases.Hessian);
            json.WriteNumber("compression", phases.Compression);
            json.WriteNumber("aggregation", phases.Aggregation);
            json.WriteNumber("solve", phases.Solve);
            json.WriteEndObject();
            json.WriteNumber("gc_during_rounds", result.CollectionsDuringRounds);
            json.WriteNumber("allocated_bytes_during_rounds", result.AllocatedBytesDuringRounds);
            if (PeakMemory.ResidentBytes() is { } peak) json.WriteNumber("peak_rss_bytes", peak);
            if (result.TestAccuracy is { } accuracy) json.WriteNumber("test_accuracy", accuracy);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>JSON has no infinity or NaN: a diverged run's non-finite values are written as null.</summary>
    private static void Finite(Utf8JsonWriter json, string name, double v)
    {
        if (double.IsFinite(v)) json.WriteNumber(name, v);
        else json.WriteNull(name);
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
