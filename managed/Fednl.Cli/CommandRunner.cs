using System.CommandLine;
using Fednl.Data;
using Fednl.Interop;

namespace Fednl.Cli;

/// <summary>Parses and runs a command; turns every failure into one line on stderr and an exit code.</summary>
internal static class CommandRunner
{
    /// <summary>Exit codes: 0 success, 1 the run failed (data, native library, I/O), 2 bad flags or values.</summary>
    public const int Ok = 0, Failed = 1, Usage = 2;

    public static RootCommand CreateRoot()
    {
        var root = Commands();
        root.HelpName = "fednl";
        return root;
    }

    private static RootCommand Commands() => new("FedNL: federated Newton learning for L2-regularised logistic regression")
    {
        TrainCommand.Create(),
        PlotCommand.Create(),
        MasterCommand.Create(),
        ClientCommand.Create(),
        CertsCommand.Create(),
        KeysCommand.Create(),
        BenchCommand.Create(),
    };

    public static int Run(string[] args)
    {
        var root = CreateRoot();
        if (args.Length == 0) args = ["--help"];
        if (UnknownCommand(root, args[0]) is { } unknown)
        {
            Console.Error.WriteLine($"fednl: {unknown}");
            return Usage;
        }
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"fednl: {Friendly(parse.Errors[0].Message)}");
            return Usage;
        }
        try
        {
            // Our own handler below prints one line; System.CommandLine's would print a stack trace.
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Describe(e) is { } message)
        {
            Console.Error.WriteLine($"fednl: {message}");
            return e is UsageException or ArgumentException ? Usage : Failed;
        }
    }

    // Missing files and folders are failed runs (exit 1), like a bad data file.

    /// <summary>Fails now, not after training, when <paramref name="file"/> cannot be written: its folder is missing or it is a folder.</summary>
    public static void CheckOutputFile(FileInfo? file, string flag)
    {
        if (file is null) return;
        if (Directory.Exists(file.FullName)) throw new IOException($"{flag} {file.FullName} is a folder, not a file");
        string? folder = Path.GetDirectoryName(file.FullName);
        if (folder is not null && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{flag} {file.FullName}: the folder {folder} does not exist");
    }

    /// <summary>Fails now when an input file is missing or is a folder.</summary>
    public static void CheckInputFile(FileInfo? file, string flag)
    {
        if (file is null) return;
        if (Directory.Exists(file.FullName)) throw new IOException($"{flag} {file.FullName} is a folder, not a file");
        if (!file.Exists) throw new FileNotFoundException($"{flag} {file.FullName}: no such file");
    }

    /// <summary>"unknown command 'trian' (did you mean 'train'?) ..." for a first word that is no command; null otherwise.</summary>
    private static string? UnknownCommand(RootCommand root, string word)
    {
        if (word.StartsWith('-')) return null;
        var names = root.Subcommands.Select(c => c.Name).ToArray();
        if (names.Contains(word)) return null;
        string? near = names.Where(n => Distance(n, word) <= 2).OrderBy(n => Distance(n, word)).FirstOrDefault();
        return $"unknown command '{word}'" + (near is null ? "" : $" (did you mean '{near}'?)") +
               $"; the commands are {string.Join(", ", names)}; fednl --help shows them";
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (j > 1 && i > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) row[j] = Math.Min(row[j], diagonal);
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>System.CommandLine's type-conversion error without .NET type names: "--rounds expects an integer, got 'abc'".</summary>
    internal static string Friendly(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(.*)' for option '(.*)' as expected type '(.*)'\.?$");
        if (!m.Success) return message;
        string expected = m.Groups[3].Value switch
        {
            "System.Int32" or "System.Int64" => "an integer",
            "System.UInt64" or "System.UInt32" => "a non-negative integer",
            "System.Double" or "System.Single" => "a number",
            "System.Boolean" => "true or false",
            var other when other.StartsWith("System.Nullable`1[System.Int32", StringComparison.Ordinal) => "an integer",
            var other when other.StartsWith("System.Nullable`1[System.Double", StringComparison.Ordinal) => "a number",
            _ => "a different kind of value",
        };
        return $"{m.Groups[2].Value} expects {expected}, got '{m.Groups[1].Value}'";
    }

    /// <summary>The one line a user sees for a failure we expect; null lets anything else surface as a bug.</summary>
    private static string? Describe(Exception e) => e switch
    {
        Algorithms.TrainingTooLargeException { RequiredBytes: > 0 } => e.Message + "; --no-memory-check starts it anyway",
        Algorithms.TrainingTooLargeException => e.Message,
        UsageException or ArgumentException => e.Message,
        LibSvmFormatException or FormatException or FileNotFoundException or DirectoryNotFoundException => e.Message,
        IOException or UnauthorizedAccessException => e.Message,
        FednlNativeLibraryException or FednlNativeException => e.Message,
        Messages.ClientLostException or Network.ClientRefusedException or InvalidDataException => e.Message,
        System.Security.Authentication.AuthenticationException or System.Net.Sockets.SocketException => e.Message,
        _ => null,
    };
}

/// <summary>A flag value that cannot work; reported as one line with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
