namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The one verdict of the format fuzzers: each mutant, written to a file, must go through open, info, reads, block
/// status, the map model and the CLI's info, check, map and convert (<see cref="MutationFuzzTests.Exercise"/>) ending in
/// a clean error or a success, within its time limit and allocation bound, and pass the format's own further check.
/// Up to five findings are kept as files and listed.
/// </summary>
internal static class FuzzRun
{
    /// <summary>
    /// What one library pass over a mutant may allocate. The seeds are a few MiB; a parser that sizes its tables from an
    /// unchecked header field goes far past this.
    /// </summary>
    public const long AllocationLimit = 512L << 20;

    public static void AssertCleanFailures(string name, string mutantPath, int iterations, Func<int, (byte[] Bytes, string What)> mutant, Func<string, string?>? further = null)
    {
        var failures = new List<string>();
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var (bytes, what) = mutant(i);
            File.WriteAllBytes(mutantPath, bytes);
            var failure = MutationFuzzTests.Exercise(mutantPath, AllocationLimit) ?? further?.Invoke(mutantPath);
            if (failure is not null)
            {
                failures.Add($"#{i} {what}: {failure} ({Keep(mutantPath, $"diskimg-finding-{name}-{i}.img")})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>
    /// Keeps a finding in the temp directory, unless a repair grew it past <see cref="KeepLimit"/>: a copy does not keep
    /// the holes of a sparse file, and one far-out block made a copy of 80 GB once. The mutant is made again from the seed.
    /// </summary>
    private static string Keep(string mutantPath, string name)
    {
        var length = new FileInfo(mutantPath).Length;
        if (length > KeepLimit)
        {
            return $"not kept: {length} bytes after the run; made again by the same seed";
        }

        var keep = Path.Combine(Path.GetTempPath(), name);
        File.Copy(mutantPath, keep, overwrite: true);
        return $"kept as {keep}";
    }

    private const long KeepLimit = 256L << 20;
}
