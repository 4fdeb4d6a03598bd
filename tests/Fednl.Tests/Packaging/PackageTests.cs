using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Fednl.Configuration;
using Fednl.Tests.Build;

namespace Fednl.Tests.Packaging;

/// <summary>
/// The packages ./build.sh pack writes to build/packages/: Fednl installs into a fresh project and Fednl.Cli into a
/// fresh tool path, both offline (only that folder and the NuGet cache as sources), then train.
/// </summary>
[NonParallelizable]
[Platform(Include = "Linux", Reason = "the packages carry the linux-x64 kernel; the tests read ELF headers and /proc")]
public sealed class PackageTests
{
    private static string Folder => Path.Combine(TestData.RepositoryRoot, "build", "packages");

    private static string Version =>
        XDocument.Load(Path.Combine(TestData.RepositoryRoot, "Directory.Build.props")).Descendants("Version").Single().Value;

    private static string Package(string id)
    {
        string path = Path.Combine(Folder, $"{id}.{Version}.nupkg");
        if (!File.Exists(path)) Assert.Fail($"{path} does not exist: run ./build.sh pack (./build.sh test does) first");
        return path;
    }

    private static readonly string[] Natives =
        ["libfednl.so", "libopenblas.so.0", "liblapacke.so.3", "liblapack.so.3", "libblas.so.3", "libtmglib.so.3", "libgfortran.so.5", "libquadmath.so.0"];

    [Test]
    public void The_library_package_holds_the_bindings_docs_readme_and_the_native_kernel_with_its_dependencies()
    {
        using var zip = ZipFile.OpenRead(Package("Fednl"));
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (string file in new[] { "lib/net10.0/Fednl.dll", "lib/net10.0/Fednl.Interop.dll", "lib/net10.0/Fednl.xml", "lib/net10.0/Fednl.Interop.xml", "README.md" })
            Assert.That(names, Does.Contain(file));
        foreach (string native in Natives)
            Assert.That(names, Does.Contain("runtimes/linux-x64/native/" + native));
        var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName == "Fednl.nuspec").Open());
        var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")!.Value).ToArray();
        Assert.That(dependencies, Is.EqualTo(new[] { "CommunityToolkit.HighPerformance" }), "no ASP.NET Core, no bindings package");
        Assert.That(nuspec.Descendants().Any(e => e.Name.LocalName == "frameworkReference"), Is.False);
        Assert.That(nuspec.Descendants().Single(e => e.Name.LocalName == "version").Value, Is.EqualTo(Version));
        string readme = new StreamReader(zip.GetEntry("README.md")!.Open()).ReadToEnd();
        Assert.That(readme, Does.Contain("FedNLTrainer.Train(data, options, progress, cancel.Token)").And.Contain("dotnet add package Fednl"));
    }

    [Test]
    public void Every_bundled_library_finds_its_neighbours_through_runpath_origin()
    {
        using var temp = TestData.TempFolder();
        ZipFile.ExtractToDirectory(Package("Fednl"), temp.Path);
        string native = Path.Combine(temp.Path, "runtimes", "linux-x64", "native");
        foreach (string file in Directory.GetFiles(native))
        {
            var (exit, output, error) = Script.Run("readelf", ["-d", file], temp.Path, []);
            Assert.That(exit, Is.Zero, error);
            Assert.That(output, Does.Match(@"\(RUNPATH\)\s+Library runpath: \[\$ORIGIN\]"), file);
            foreach (Match needed in Regex.Matches(output, @"\(NEEDED\)\s+Shared library: \[(.+?)\]"))
            {
                string soname = needed.Groups[1].Value;
                bool system = Regex.IsMatch(soname, @"^(libc|libm|libpthread|libdl|librt|libgcc_s|libstdc\+\+)\.so|^ld-linux");
                Assert.That(system || File.Exists(Path.Combine(native, soname)), Is.True, $"{Path.GetFileName(file)} needs {soname}, which is not beside it");
            }
        }
    }

    [Test]
    public void A_fresh_host_project_adds_the_package_offline_and_trains_with_the_packaged_kernel()
    {
        using var temp = TestData.TempFolder();
        string project = Path.Combine(temp.Path, "host");
        Directory.CreateDirectory(project);
        var environment = Offline(temp.Path);
        File.WriteAllText(Path.Combine(project, "host.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), """
            using Fednl;
            using Fednl.Configuration;
            using Fednl.Compression;
            using Fednl.Data;
            using Fednl.Reporting;

            var data = SyntheticDataset.Generate(samples: 1000, features: 20, density: 0.3, seed: 3).WithIntercept();
            var options = new TrainingOptions { Clients = 10, Rounds = 100, Compressor = CompressorKind.TopK, Tolerance = 1e-10 };
            TrainingResult result = FedNLTrainer.Train(data, options);
            Console.WriteLine($"grad {result.Final.GradientNorm:R}");
            foreach (string line in File.ReadLines("/proc/self/maps"))
                if (line.Contains("libfednl") || line.Contains("libopenblas") || line.Contains("liblapack"))
                    Console.WriteLine("map " + line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]);
            """);
        Dotnet(project, environment, "add", "package", "Fednl", "--version", Version);
        Dotnet(project, environment, "build", "-c", "Release", "-nologo", "-v", "quiet");
        string output = Path.Combine(project, "bin", "Release", "net10.0");
        string run = Dotnet(project, environment, Path.Combine(output, "host.dll"));

        double gradient = double.Parse(Regex.Match(run, @"grad (\S+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(gradient, Is.LessThanOrEqualTo(1e-10), run);
        var maps = Regex.Matches(run, @"^map (.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Distinct().ToArray();
        Assert.That(maps.Any(m => m.EndsWith("libfednl.so")) && maps.Any(m => m.EndsWith("libopenblas.so.0")), Is.True, run);
        Assert.That(maps, Has.All.StartWith(Path.Combine(output, "runtimes", "linux-x64", "native")), "the kernel and OpenBLAS come from the package");
        Assert.That(File.ReadAllText(Path.Combine(output, "host.runtimeconfig.json")), Does.Not.Contain("AspNetCore"));
    }

    [Test]
    public void The_tool_installs_offline_into_a_fresh_tool_path_and_trains()
    {
        using var temp = TestData.TempFolder();
        var environment = Offline(temp.Path);
        string tools = Path.Combine(temp.Path, "tools");
        Package("Fednl.Cli");
        Dotnet(temp.Path, environment, "tool", "install", "Fednl.Cli", "--version", Version, "--tool-path", tools,
            "--configfile", Path.Combine(temp.Path, "nuget.config"));
        string fednl = Path.Combine(tools, "fednl");
        var (exit, output, error) = Script.Run(fednl, ["train", "--rounds", "30", "--compressor", "randseqk", "--tolerance", "1e-10", "--json"], temp.Path, environment);
        Assert.That(exit, Is.Zero, error);
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        Assert.That(json.RootElement.GetProperty("grad_norm").GetDouble(), Is.LessThanOrEqualTo(1e-10));
        var (helpExit, help, _) = Script.Run(fednl, ["train", "--help"], temp.Path, environment);
        Assert.That(helpExit, Is.Zero);
        Assert.That(help, Does.Contain("fednl train [options]"));
        foreach (string native in Natives)
            Assert.That(Directory.GetFiles(tools, native, SearchOption.AllDirectories), Is.Not.Empty, native);
    }

    /// <summary>
    /// A nuget.config in <paramref name="folder"/> whose only sources are build/packages and the NuGet cache (as a
    /// local feed), and a fresh global packages folder: nothing is fetched from a network feed.
    /// </summary>
    private static (string, string)[] Offline(string folder)
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="fednl" value="{Folder}" />
                <add key="cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);
        return [("NUGET_PACKAGES", Path.Combine(folder, "packages")), ("DOTNET_CLI_TELEMETRY_OPTOUT", "1"), ("DOTNET_NOLOGO", "1")];
    }

    private static string Dotnet(string directory, (string, string)[] environment, params string[] args)
    {
        var (exit, output, error) = Script.Run("dotnet", args, directory, environment);
        Assert.That(exit, Is.Zero, $"dotnet {string.Join(' ', args)}:\n{output}\n{error}");
        return output;
    }
}
