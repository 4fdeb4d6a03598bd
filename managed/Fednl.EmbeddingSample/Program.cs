using Fednl.Compression;
using Fednl.Configuration;
using Fednl.Data;
using Fednl.Reporting;
using Fednl;

// dotnet run --project managed/Fednl.EmbeddingSample [-- path/to/libsvm-file]
// Trains FedNL from a host application: data from a file (or generated), progress, cancellation, result.
Dataset data = args.Length > 0
    ? LibSvmReader.Read(args[0], addIntercept: true)
    : SyntheticDataset.Generate(samples: 2000, features: 40, density: 0.25, seed: 7).WithIntercept();

var options = new TrainingOptions
{
    Clients = 20,
    Rounds = 200,
    Compressor = CompressorKind.RandSeqK,
    Tolerance = 1e-12,
};

using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5)); // the host's own deadline
var progress = new Progress<RoundReport>(r =>
{
    if (r.Round % 10 == 0) Console.WriteLine($"round {r.Round}: ||grad f|| = {r.GradientNorm:E2}");
});

TrainingResult result = FedNLTrainer.Train(data, options, progress, cancel.Token);

Console.WriteLine($"f = {result.Final.Loss:R} after {result.Rounds} rounds, ||grad f|| = {result.Final.GradientNorm:E2}");
Console.WriteLine($"train {result.TrainSeconds:F3} s, setup {result.SetupSeconds:F3} s, {result.Final.BytesUp:N0} bytes up");
Console.WriteLine($"model: {string.Join(", ", result.Model.Take(5).Select(v => v.ToString("F4")))}, ...");
return result.Converged ? 0 : 1;
