using Fednl.Interop.Generator;

// fednl-bindgen [--header H] [--output F] [--tests-output T]: regenerates the P/Invoke bindings from fednl.h.
try
{
    string root = BindingGenerator.FindRepositoryRoot(Environment.CurrentDirectory);
    string header = BindingGenerator.DefaultHeader(root);
    string output = BindingGenerator.DefaultBindings(root);
    string tests = BindingGenerator.DefaultLayoutTests(root);
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--header": header = Path.GetFullPath(Next()); break;
            case "--output": output = Path.GetFullPath(Next()); break;
            case "--tests-output": tests = Path.GetFullPath(Next()); break;
            default: throw new ArgumentException($"unknown argument '{args[i]}' (expected --header, --output, --tests-output)");
        }
    }
    var (bindings, layoutTests) = BindingGenerator.Generate(header);
    Directory.CreateDirectory(Path.GetDirectoryName(output)!);
    Directory.CreateDirectory(Path.GetDirectoryName(tests)!);
    File.WriteAllText(output, bindings);
    File.WriteAllText(tests, layoutTests);
    Console.WriteLine($"fednl-bindgen: {header} -> {output}, {tests}");
    return 0;
}
catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or NotSupportedException or DllNotFoundException)
{
    Console.Error.WriteLine($"fednl-bindgen: {e.Message}");
    return 1;
}
