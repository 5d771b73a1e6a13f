using System.Buffers.Binary;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Cloop;

/// <summary>
/// The mutation fuzzer for the read-only formats: an image of the test writer with its sizes and table bytes
/// corrupted at random, each mutant run through <see cref="MutationFuzzTests.Exercise"/> (every read-side verb, in
/// process, which must end in the library's own one-line failures and write only sound images).
/// </summary>
internal static class ReadOnlyFormatFuzz
{
    public static void Run(byte[] original, string extension, (int Start, int Length)[] regions, bool bigEndian, int seed)
    {
        using var dir = new Infrastructure.TempDirectory();
        var baseSeed = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_SEED"), out var chosen) ? chosen : seed;
        var random = new Random(baseSeed);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 12;
        var failures = new List<string>();
        var mutant = dir.File("mutant." + extension);
        uint[] extremes = [0, 1, 0x200, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000, 0x4000000];
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var bytes = (byte[])original.Clone();
            var changes = new List<string>();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                var (start, length) = regions[random.Next(regions.Length)];
                var at = start + random.Next(length - 4);
                if (random.Next(2) == 0)
                {
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    changes.Add($"bit flip at {at}");
                }
                else
                {
                    var value = extremes[random.Next(extremes.Length)];
                    if (bigEndian)
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), value);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
                    }

                    changes.Add($"0x{value:x} at {at}");
                }
            }

            File.WriteAllBytes(mutant, bytes);
            if (MutationFuzzTests.Exercise(mutant) is { } failure)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-{extension}-{i}.img");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {string.Join(", ", changes)}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
