using Fednl.Interop.Generator;

namespace Fednl.Tests.Interop;

/// <summary>The committed bindings are exactly what the generator makes from the committed header.</summary>
public sealed class BindingsStalenessTests
{
    private const string Fix = "run: dotnet run --project interop/Fednl.Interop.Generator (and commit the result)";

    [Test]
    public void Committed_bindings_match_the_header()
    {
        string root = TestData.RepositoryRoot;
        var (bindings, layoutTests) = BindingGenerator.Generate(BindingGenerator.DefaultHeader(root));
        Assert.That(File.ReadAllText(BindingGenerator.DefaultBindings(root)), Is.EqualTo(bindings),
            $"interop/Fednl.Interop/NativeMethods.g.cs is stale: {Fix}");
        Assert.That(File.ReadAllText(BindingGenerator.DefaultLayoutTests(root)), Is.EqualTo(layoutTests),
            $"tests/Fednl.Tests/Interop/StructLayoutTests.g.cs is stale: {Fix}");
    }

    [Test]
    public void The_generator_uses_the_libclang_of_its_nuget_package()
    {
        BindingGenerator.Generate(BindingGenerator.DefaultHeader(TestData.RepositoryRoot));
        if (Environment.GetEnvironmentVariable("FEDNL_LIBCLANG") is { Length: > 0 } chosen)
            Assert.That(BindingGenerator.LibClangPath, Is.EqualTo(chosen));
        else
            Assert.That(BindingGenerator.LibClangPath, Does.StartWith(Path.Combine(AppContext.BaseDirectory, "runtimes", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, "native", "libclang.")));
    }

    [Test]
    public void A_changed_header_changes_the_bindings()
    {
        string root = TestData.RepositoryRoot;
        using var temp = TestData.TempFolder();
        string header = File.ReadAllText(BindingGenerator.DefaultHeader(root));
        string changed = header.Replace("#ifdef __cplusplus\n}\n#endif",
            "/** Added by the test. */\nFEDNL_API int32_t fednl_added_by_test(int64_t n, const double *x, double *y);\n\n#ifdef __cplusplus\n}\n#endif");
        Assert.That(changed, Is.Not.EqualTo(header), "the test could not find where to add a function");
        string path = temp.File("fednl.h", changed);

        var (bindings, _) = BindingGenerator.Generate(path);
        Assert.That(bindings, Is.Not.EqualTo(File.ReadAllText(BindingGenerator.DefaultBindings(root))));
        Assert.That(bindings, Does.Contain("public static partial int fednl_added_by_test(long n, in double x, ref double y);"));
        Assert.That(bindings, Does.Contain("Added by the test."));
    }

    [Test]
    public void A_header_that_does_not_compile_is_reported()
    {
        using var temp = TestData.TempFolder();
        string path = temp.File("broken.h", "int32_t fednl_broken(int64_t n\n");
        var ex = Assert.Throws<InvalidOperationException>(() => BindingGenerator.Generate(path));
        Assert.That(ex!.Message, Does.Contain("does not compile"));
    }
}
