using BenchmarkDotNet.Running;

// ./build.sh bench [BenchmarkDotNet args], e.g. ./build.sh bench --filter '*Hessian*'
BenchmarkSwitcher.FromAssembly(typeof(Fednl.Benchmarks.HessianBenchmarks).Assembly).Run(args);
