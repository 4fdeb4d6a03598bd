namespace Fednl.Interop.Generator;

/// <summary>Header in, generated C# out. Used by the command line and, in-process, by the staleness test.</summary>
public static class BindingGenerator
{
    /// <summary>The library name the bindings import ("fednl": libfednl.so, fednl.dll, libfednl.dylib).</summary>
    public const string Library = "fednl";

    /// <summary>Reads the header and returns the text of the bindings file and of the struct-layout test file.</summary>
    public static (string Bindings, string LayoutTests) Generate(string headerPath)
    {
        var model = HeaderReader.Read(headerPath);
        return (CSharpEmitter.Bindings(model, Library), CSharpEmitter.LayoutTests(model));
    }

    /// <summary>Where libclang was loaded from once <see cref="Generate"/> has run.</summary>
    public static string? LibClangPath => LibClang.LoadedFrom;

    /// <summary>The repository root: the nearest folder above <paramref name="start"/> holding Fednl.slnx.</summary>
    public static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Fednl.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no Fednl.slnx above {start}: run from inside the repository or pass paths");
    }

    public static string DefaultHeader(string root) => Path.Combine(root, "native", "include", "fednl.h");
    public static string DefaultBindings(string root) => Path.Combine(root, "interop", "Fednl.Interop", "NativeMethods.g.cs");
    public static string DefaultLayoutTests(string root) => Path.Combine(root, "tests", "Fednl.Tests", "Interop", "StructLayoutTests.g.cs");
}
