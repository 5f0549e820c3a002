using BenchmarkDotNet.Running;

namespace Oakley.Benchmarks;

public static class Program
{
    // dotnet run -c Release --project bench/Oakley.Benchmarks -- --filter '*'   (see docs/benchmarks.md)
    // dotnet run -c Release --project bench/Oakley.Benchmarks -- --lease-memory  (heap per virtual IP lease)
    public static void Main(string[] args)
    {
        if (args is ["--lease-memory"])
        {
            LeaseMemory.Run(Console.Out);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
