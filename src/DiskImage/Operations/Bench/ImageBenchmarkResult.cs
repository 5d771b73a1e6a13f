namespace DiskImage.Operations.Bench;

/// <summary>What a benchmark run did and how long the requests took (opening and the final flush excluded, as in qemu-img).</summary>
public sealed record ImageBenchmarkResult(int Requests, long Bytes, TimeSpan Elapsed);
