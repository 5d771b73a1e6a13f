using BenchmarkDotNet.Running;
using DiskImage.Benchmarks;

// `sizes CORPUS.raw` prints compressed sizes per corpus quarter and level; anything else goes to
// BenchmarkDotNet (e.g. `--filter '*Zero*'`, `--job short`).
if (args.Length == 2 && args[0] == "sizes")
{
    return CompressionSizeReport.Run(args[1], Console.Out);
}

BenchmarkSwitcher.FromAssembly(typeof(SampleData).Assembly).Run(args);
return 0;
