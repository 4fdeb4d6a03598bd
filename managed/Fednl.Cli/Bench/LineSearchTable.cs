using System.Diagnostics;
using System.Text;
using Fednl.Data;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli.Bench;

/// <summary>
/// FedNL-LS from x⁰ = 0 to ‖∇f‖ ≤ 1e-9 against every scikit-learn solver on the same objective and the same samples,
/// both end to end from one data file.
/// </summary>
internal static class LineSearchTable
{
    private static readonly string[] SklearnSolvers = ["lbfgs", "newton-cg", "newton-cholesky", "liblinear"];

    /// <summary>
    /// scikit-learn minimises F = C Σ loss + ½‖w‖² = f/λ, so its gradient is 1000 × ours: tol = 1e-7 asks for our
    /// ‖∇f‖ around 1e-10, past FedNL-LS's 1e-9. Tighter makes newton-cg run to max_iter on rounding noise.
    /// </summary>
    private const string SklearnTolerance = "1e-7";

    /// <summary>The table; <paramref name="python"/> null runs FedNL-LS alone and says the scikit-learn rows did not run.</summary>
    public static string Format(BenchPlan plan, IReadOnlyList<string> datasets, string compressor, string? python)
    {
        int clients = plan.Clients;
        var table = new StringBuilder();
        table.AppendLine($"FedNL-LS ({compressor}, {clients} clients, c = 0.49, γ = 0.5) from x⁰ = 0 to ‖∇f‖ ≤ 1e-9 against scikit-learn " +
                         "on the same objective (C = 1/(λN), λ = 1e-3, no fitted intercept, a constant column instead) and the same " +
                         "samples, each a whole process from one LIBSVM file (median seconds).");
        table.AppendLine();
        table.AppendLine("| dataset | solver | seconds | iterations | f | ‖∇f‖ | \\|f − f_FedNL-LS\\| / f | of which python import / load / fit |");
        table.AppendLine("|---|---|---|---|---|---|---|---|");
        string folder = Directory.CreateTempSubdirectory("fednl-bench-").FullName;
        try
        {
            foreach (var dataset in datasets)
            {
                // the samples FedNL keeps (N mod n dropped) with the constant column, so both sides see one objective
                var data = LibSvmReader.Read(Path.Combine(plan.DataDir, dataset), addIntercept: true);
                var split = ClientSplit.Split(data, clients, 123);
                string file = Path.Combine(folder, dataset + ".kept");
                LibSvmWriter.Write(file, split.Clients);

                var ls = TimedRun.Median(Enumerable.Range(0, plan.Repeat).Select(_ => TimedRun.OfFednl(
                    ["train", "--data", file, "--clients", Invariant(clients), "--algorithm", "fednl-ls", "--compressor", compressor,
                        "--tolerance", "1e-9", "--rounds", "1000", "--json"])).ToList());
                double f = (double)ls.Json["f"]!;
                table.AppendLine($"| {dataset} | FedNL-LS {compressor} | {F(ls.Seconds, 2)} | {ls.Json["rounds"]} rounds | {f:R} | " +
                                 $"{(double)ls.Json["grad_norm"]!:E1} | – | – |");
                Console.Error.WriteLine($"bench: {dataset} FedNL-LS: {F(ls.Seconds, 3)} s");
                foreach (var solver in python is null ? [] : SklearnSolvers)
                {
                    var run = TimedRun.Median(Enumerable.Range(0, plan.Repeat).Select(_ =>
                        TimedRun.Of(python!, [Script, file, solver, "0.001", SklearnTolerance])).ToList());
                    var j = run.Json;
                    double fs = (double)j["f"]!;
                    table.AppendLine($"| {dataset} | sklearn {solver} | {F(run.Seconds, 2)} | {j["iterations"]} | {fs:R} | {(double)j["grad_norm"]!:E1} | " +
                                     $"{Math.Abs(fs - f) / Math.Abs(f):E1} | {F((double)j["import_seconds"]!, 2)} / {F((double)j["load_seconds"]!, 2)} / {F((double)j["fit_seconds"]!, 2)} |");
                    Console.Error.WriteLine($"bench: {dataset} sklearn {solver}: {F(run.Seconds, 3)} s");
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        table.AppendLine();
        if (python is null)
            table.AppendLine($"scikit-learn rows: not run, {DefaultPython()} cannot import scikit-learn (Debian: apt-get install " +
                             "python3-sklearn, or pass --python PATH).").AppendLine();
        return table.ToString();
    }

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Bench", "sklearn_baseline.py");

    /// <summary>
    /// Whether the scikit-learn rows can run, checked before any run: the script must be there; a python the user
    /// named (<paramref name="required"/>) must import scikit-learn, else the bench stops here.
    /// </summary>
    public static bool CheckPython(string python, bool required)
    {
        if (!File.Exists(Script)) throw new FileNotFoundException($"bench: {Script} is missing from the build output");
        if (PythonHasSklearn(python)) return true;
        if (required)
            throw new UsageException($"bench: '{python}' cannot import scikit-learn; install it (Debian: apt-get install python3-sklearn) or pass --python");
        Console.Error.WriteLine($"bench: {python} cannot import scikit-learn; the FedNL-LS table runs without its scikit-learn rows");
        return false;
    }

    public static string DefaultPython() => File.Exists("/usr/bin/python3") && PythonHasSklearn("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    private static bool PythonHasSklearn(string python)
    {
        try
        {
            var start = new ProcessStartInfo(python, ["-c", "import sklearn"]) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var process = Process.Start(start);
            if (process is null) return false;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
