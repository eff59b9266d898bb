using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Confide.Benchmarks;

/// <summary>
/// In-process runs (the benchmark launches its own enclave and echo processes), medians and
/// ratios against each category's baseline measured in the same run.
/// </summary>
public sealed class BenchmarkConfig : ManualConfig
{
    public BenchmarkConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(5).WithIterationCount(20));
        AddColumn(StatisticColumn.Median, StatisticColumn.P95);
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory);
        HideColumns(Column.Error, Column.StdDev);
        WithOptions(ConfigOptions.JoinSummary);
    }
}
