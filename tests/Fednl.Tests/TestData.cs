namespace Fednl.Tests;

/// <summary>
/// Where the real LIBSVM datasets are: the folder in FEDNL_DATA. Without it, real-data tests are ignored with a
/// message saying how to enable them — unless FEDNL_REQUIRE_DATA=1 (CI), where a missing dataset fails the test.
/// </summary>
internal static class TestData
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Dataset(string name)
    {
        string? folder = DataFolder(Environment.GetEnvironmentVariable("FEDNL_DATA"), Environment.GetEnvironmentVariable("PWD"));
        bool required = Environment.GetEnvironmentVariable("FEDNL_REQUIRE_DATA") == "1";
        string? path = string.IsNullOrEmpty(folder) ? null : Path.Combine(folder, name);
        if (path is not null && File.Exists(path)) return path;
        string message = path is null
            ? $"FEDNL_DATA is not set: real-data test on {name} did not run; set FEDNL_DATA=<folder with w8a, a9a, phishing>"
            : $"{path} does not exist: real-data test on {name} did not run; point FEDNL_DATA at the folder holding it";
        if (required) Assert.Fail(message);
        Assert.Ignore(message);
        return "";
    }

    /// <summary>
    /// FEDNL_DATA as an absolute folder: a relative one is taken from the shell's directory (PWD, where the
    /// command was run), not from the test host's working directory.
    /// </summary>
    internal static string? DataFolder(string? value, string? shellDirectory)
    {
        if (string.IsNullOrEmpty(value) || Path.IsPathRooted(value)) return string.IsNullOrEmpty(value) ? null : value;
        string from = !string.IsNullOrEmpty(shellDirectory) && Path.IsPathRooted(shellDirectory) ? shellDirectory : Environment.CurrentDirectory;
        return Path.GetFullPath(Path.Combine(from, value));
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Fednl.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("the tests run outside the repository: no Fednl.slnx above " + AppContext.BaseDirectory);
    }

    /// <summary>A fresh temporary folder, deleted by the caller's using.</summary>
    public static TempFolder TempFolder() => new();
}

internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fednl-tests-" + Guid.NewGuid().ToString("N"));

    public TempFolder() => Directory.CreateDirectory(Path);

    public string File(string name, string contents)
    {
        string path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, contents);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
