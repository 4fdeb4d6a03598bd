using System.CommandLine;
using Fednl.Network.Private;

namespace Fednl.Cli;

/// <summary>`fednl keys init`: the shared key of a private run's clients (the master never gets it).</summary>
internal static class KeysCommand
{
    private static readonly Option<FileInfo> Out = new("--out") { Description = "where to write the key (readable by its owner only; never overwritten)", Required = true };

    public static Command Create()
    {
        var init = new Command("init", "write a fresh 256-bit key for the clients of a private run (fednl client --private --key FILE)");
        init.Options.Add(Out);
        init.SetAction(Run);
        return new Command("keys", "keys for private mode (the master relays sealed messages it cannot read)") { init };
    }

    private static int Run(ParseResult parse)
    {
        var file = parse.GetValue(Out)!;
        CommandRunner.CheckOutputFile(file, "--out");
        if (file.Exists) throw new UsageException($"--out {file.FullName} already exists; a key file is never overwritten (remove it first to replace the key)");
        KeyFile.Create(file.FullName);
        Console.WriteLine($"wrote {file.FullName}: a 256-bit key, readable by its owner only; give it to every client out of band (never to the master)");
        return CommandRunner.Ok;
    }
}
