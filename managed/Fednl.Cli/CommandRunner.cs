using System.CommandLine;
using Fednl.Data;
using Fednl.Interop;

namespace Fednl.Cli;

/// <summary>Parses and runs a command; turns every failure into one line on stderr and an exit code.</summary>
internal static class CommandRunner
{
    /// <summary>Exit codes: 0 success, 1 the run failed (data, native library, I/O), 2 bad flags or values.</summary>
    public const int Ok = 0, Failed = 1, Usage = 2;

    public static RootCommand CreateRoot() => new("FedNL: federated Newton learning for L2-regularised logistic regression")
    {
        TrainCommand.Create(),
        PlotCommand.Create(),
        MasterCommand.Create(),
        ClientCommand.Create(),
        CertsCommand.Create(),
        BenchCommand.Create(),
    };

    public static int Run(string[] args)
    {
        var parse = CreateRoot().Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"fednl: {parse.Errors[0].Message}");
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

    /// <summary>The one line a user sees for a failure we expect; null lets anything else surface as a bug.</summary>
    private static string? Describe(Exception e) => e switch
    {
        Algorithms.TrainingTooLargeException { RequiredBytes: > 0 } => e.Message + "; --no-memory-check starts it anyway",
        Algorithms.TrainingTooLargeException => e.Message,
        UsageException or ArgumentException => e.Message,
        LibSvmFormatException or FormatException or FileNotFoundException or DirectoryNotFoundException => e.Message,
        IOException or UnauthorizedAccessException => e.Message,
        FednlNativeLibraryException or FednlNativeException => e.Message,
        Network.ClientLostException or Network.ClientRefusedException or InvalidDataException => e.Message,
        System.Security.Authentication.AuthenticationException or System.Net.Sockets.SocketException => e.Message,
        _ => null,
    };
}

/// <summary>A flag value that cannot work; reported as one line with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
