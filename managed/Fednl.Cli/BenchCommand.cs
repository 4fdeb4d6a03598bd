using System.CommandLine;
using System.Text;
using Fednl.Cli.Bench;
using Fednl.Compression;
using Fednl.Reporting;
using static Fednl.Cli.Bench.BenchText;

namespace Fednl.Cli;

/// <summary>
/// `fednl bench`: issue 13's benchmark. (1) The paper's Table 1 configuration (intercept, 142 clients, 1000 rounds,
/// K = 8d, λ = 1e-3, option 2) for every compressor on w8a, a9a, phishing and the generated dense500: each run is a
/// separate `fednl train` process timed whole, as /usr/bin/time would; the median of the repeats is reported with the
/// quoted u-FedNL figure, the goal, a verdict, the process's own phase breakdown and peak memory; beside it the same
/// runs on one thread, and the rounds and seconds to ‖∇f‖ ≤ 1e-12. (2) The roofline: this machine's bounds from the
/// kernel's probes, and each phase of each cell as a fraction of the bound it is limited by. (3) FedNL-LS from
/// x⁰ = 0 to ‖∇f‖ ≤ 1e-9 against every scikit-learn solver on the same objective and the same samples.
/// </summary>
internal static class BenchCommand
{
    private static readonly Option<DirectoryInfo?> DataDir = new("--data-dir") { Description = "folder holding w8a, a9a, phishing (default: $FEDNL_DATA)" };
    private static readonly Option<string> Datasets = new("--datasets") { Description = "comma-separated dataset files, and dense500 (generated)", DefaultValueFactory = _ => "w8a,a9a,phishing,dense500" };
    private static readonly Option<string> Compressors = new("--compressors") { Description = "comma-separated compressors for table 1", DefaultValueFactory = _ => "randk,topk,toplek,randseqk,natural,identical,permk" };
    private static readonly Option<int> Repeat = new("--repeat") { Description = "runs per cell; the median is reported", DefaultValueFactory = _ => 3 };
    private static readonly Option<int> Rounds = new("--rounds") { Description = "rounds per table-1 run (and at most to ||grad f|| <= 1e-12)", DefaultValueFactory = _ => 1000 };
    private static readonly Option<int> Clients = new("--clients") { Description = "clients (dense500 always has 50)", DefaultValueFactory = _ => 142 };
    private static readonly Option<string> Suite = new("--suite") { Description = "table1|ls|roofline|all, or a comma-separated list", DefaultValueFactory = _ => "all" };
    private static readonly Option<bool> NoThreadCompare = new("--no-thread-compare") { Description = "skip the --threads 1 runs beside table 1 (they double its run time)" };
    private static readonly Option<double> ProbeSeconds = new("--probe-seconds") { Description = "seconds per timed run of each roofline probe", DefaultValueFactory = _ => 0.1 };
    private static readonly Option<string> LineSearchCompressor = new("--ls-compressor") { Description = "compressor FedNL-LS uses", DefaultValueFactory = _ => "identical" };
    private static readonly Option<string?> Python = new("--python") { Description = "python with scikit-learn (default: /usr/bin/python3, else python3)" };
    private static readonly Option<FileInfo?> Markdown = new("--markdown") { Description = "also write the tables to this file" };

    public static Command Create()
    {
        var command = new Command("bench", "time the Table 1 configuration against u-FedNL's figures, the roofline, and FedNL-LS against scikit-learn (whole processes)");
        foreach (var option in new Option[] { DataDir, Datasets, Compressors, Repeat, Rounds, Clients, Suite, NoThreadCompare, ProbeSeconds, LineSearchCompressor, Python, Markdown })
            command.Options.Add(option);
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var compressors = List(parse.GetValue(Compressors)!);
        foreach (var c in compressors.Append(parse.GetValue(LineSearchCompressor)!))
            if (!CompressorKindNames.TryParse(c, out _))
                throw new UsageException($"bench: '{c}' is not a compressor ({CompressorKindNames.AllFlags})");
        if (compressors.Count == 0) throw new UsageException("--compressors names no compressor");
        int repeat = parse.GetValue(Repeat), rounds = parse.GetValue(Rounds), clients = parse.GetValue(Clients);
        foreach (var (flag, value) in new[] { ("--repeat", repeat), ("--rounds", rounds), ("--clients", clients) })
            if (value < 1) throw new UsageException($"{flag} must be >= 1, got {value}");
        CommandRunner.CheckOutputFile(parse.GetValue(Markdown), "--markdown");
        var suites = List(parse.GetValue(Suite)!);
        foreach (var suite in suites.DefaultIfEmpty(""))
            if (suite is not ("table1" or "ls" or "roofline" or "all")) throw new UsageException($"--suite '{suite}' is not table1, ls, roofline or all");
        double probeSeconds = parse.GetValue(ProbeSeconds);
        if (!(probeSeconds > 0 && probeSeconds <= 60)) throw new UsageException("--probe-seconds must be in (0, 60]");
        var datasets = List(parse.GetValue(Datasets)!);
        if (datasets.Count == 0) throw new UsageException("--datasets names no dataset");
        string? dataDir = parse.GetValue(DataDir)?.FullName ?? Environment.GetEnvironmentVariable("FEDNL_DATA");
        if (dataDir is null && datasets.Any(d => !BenchPlan.IsGenerated(d)))
            throw new UsageException("bench needs the datasets: --data-dir DIR or FEDNL_DATA=DIR (the folder with w8a, a9a, phishing)");
        foreach (var name in datasets.Where(d => !BenchPlan.IsGenerated(d)))
            if (!File.Exists(Path.Combine(dataDir!, name)))
                throw new UsageException($"bench: {Path.Combine(dataDir!, name)} does not exist");
        bool all = suites.Contains("all"), tableOne = all || suites.Contains("table1"), roofline = all || suites.Contains("roofline"),
            lineSearch = all || suites.Contains("ls");
        if (lineSearch && !tableOne && !roofline && datasets.All(BenchPlan.IsGenerated))
            throw new UsageException("--suite ls needs a dataset file: FedNL-LS is compared with scikit-learn on LIBSVM files only");
        bool threadCompare = !parse.GetValue(NoThreadCompare);
        var files = datasets.Where(d => !BenchPlan.IsGenerated(d)).ToList();
        string? chosenPython = parse.GetValue(Python);
        string python = chosenPython ?? LineSearchTable.DefaultPython();
        // a python named with --python must have scikit-learn; without the flag, a missing scikit-learn leaves out
        // its rows (FedNL-LS still runs) and the report says so
        bool sklearn = lineSearch && files.Count > 0 && LineSearchTable.CheckPython(python, required: chosenPython is not null);

        var plan = new BenchPlan(dataDir ?? "", clients, rounds, repeat);
        var report = new StringBuilder();
        string load = MachineBounds.LoadAverage() is { } start ? $", load average {F(start, 1)} at the start" : "";
        report.AppendLine($"fednl bench, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {repeat} runs per cell (median){load}");
        report.AppendLine();
        var cells = BenchCell.All(datasets, compressors);
        MachineBounds? bounds = null;
        if (tableOne || roofline)
        {
            Console.Error.WriteLine("bench: measuring the machine's bounds");
            bounds = MachineBounds.Measure(seconds: probeSeconds);
            report.Append(RooflineTables.Bounds(bounds));
        }
        if (tableOne)
        {
            bool oneThread = threadCompare && Environment.ProcessorCount > 1;
            CellMeasurement.Run(plan, cells, oneThread, toAccuracy: true);
            report.Append(TableOne.Format(plan, cells, bounds!));
            if (oneThread) report.Append(ThreadTable.Format(cells));
            else report.AppendLine(threadCompare ? "One core: no 1 vs 2 threads comparison." : "1 vs 2 threads: not run (--no-thread-compare).").AppendLine();
            report.Append(TimeToAccuracyTable.Format(plan, cells));
        }
        if (roofline)
        {
            CellMeasurement.Run(plan, cells, oneThread: false, toAccuracy: false);
            report.Append(RooflineTables.PerCell(plan, cells, bounds!));
        }
        if (lineSearch && files.Count > 0)
            report.Append(LineSearchTable.Format(plan, files, parse.GetValue(LineSearchCompressor)!, sklearn ? python : null));
        else if (lineSearch)
            report.AppendLine("FedNL-LS against scikit-learn: not run, --datasets names no LIBSVM file (it compares on files only).").AppendLine();
        if (MachineBounds.LoadAverage() is { } end) report.AppendLine($"Load average at the end: {F(end, 1)} on {Environment.ProcessorCount} cores.");
        Console.Write(report);
        if (parse.GetValue(Markdown) is { } file) File.WriteAllText(file.FullName, report.ToString());
        return CommandRunner.Ok;
    }

    private static List<string> List(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
