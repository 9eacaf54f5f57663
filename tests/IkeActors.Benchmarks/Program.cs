using BenchmarkDotNet.Running;

// Every benchmark class in this assembly; pick with --filter, e.g. --filter '*Codec*'.
BenchmarkSwitcher.FromAssembly(typeof(IkeActors.Benchmarks.NegotiationBenchmarks).Assembly).Run(args);
