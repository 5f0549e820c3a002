using BenchmarkDotNet.Running;

namespace Oakley.Benchmarks;

public static class Program
{
    // dotnet run -c Release --project bench/Oakley.Benchmarks -- --filter '*'   (see docs/benchmarks.md)
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
