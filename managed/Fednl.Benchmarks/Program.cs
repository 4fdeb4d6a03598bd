using BenchmarkDotNet.Running;

// ./build.sh bench [BenchmarkDotNet args], e.g. ./build.sh bench --filter '*Hessian*'
// ./build.sh bench transport [flags]: framed TCP against gRPC per round (Transport/TransportCost.cs)
if (args.Length > 0 && args[0].StartsWith("transport", StringComparison.Ordinal))
    return Fednl.Benchmarks.Transport.TransportCost.Run(args);
// ./build.sh bench private [flags]: private mode against the normal mode on w8a with 142 clients (Transport/PrivateCost.cs)
if (args.Length > 0 && args[0].StartsWith("private", StringComparison.Ordinal))
    return Fednl.Benchmarks.Transport.PrivateCost.Run(args);
BenchmarkSwitcher.FromAssembly(typeof(Fednl.Benchmarks.HessianBenchmarks).Assembly).Run(args);
return 0;
