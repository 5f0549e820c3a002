using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Oakley.Benchmarks;

/// <summary>
/// A short, in-process job: enough iterations for stable medians on this 2-core machine without spending an
/// hour on 27 key-exchange groups. MemoryDiagnoser reports allocations per operation.
/// </summary>
public class BenchConfig : ManualConfig
{
    public BenchConfig()
        : this(null)
    {
    }

    /// <summary>With <paramref name="timeout"/>: room for a long setup (the in-process default gives up after 5 minutes).</summary>
    protected BenchConfig(TimeSpan? timeout)
    {
        AddJob(Job.Default
            .WithToolchain(timeout is { } t ? new InProcessEmitToolchain(t, logOutput: false) : InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(8)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250)));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumnProvider(BenchmarkDotNet.Columns.DefaultColumnProviders.Instance);
        AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
        AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}
