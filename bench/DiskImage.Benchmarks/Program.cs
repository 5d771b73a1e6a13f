using BenchmarkDotNet.Running;
using DiskImage.Benchmarks;

// `sizes CORPUS.raw` prints compressed sizes per corpus quarter and level; anything else goes to
// BenchmarkDotNet (e.g. `--filter '*Zero*'`, `--job short`). `inproc CORPUS-DIR [RUNS] [JOB,...]` times ImageConverter.Convert
// in this JIT-compiled process against qemu-img convert (bench/compare-qemu.sh runs it).
if (args.Length == 2 && args[0] == "sizes")
{
    return CompressionSizeReport.Run(args[1], Console.Out);
}

if (args.Length is >= 2 and <= 4 && args[0] == "inproc")
{
    var runs = args.Length >= 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
    return InProcessConvertBenchmark.Run(args[1], runs, args.Length == 4 ? args[3].Split(',') : null, Console.Out);
}

BenchmarkSwitcher.FromAssembly(typeof(SampleData).Assembly).Run(args);
return 0;
