using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;
using static DiskImage.Tests.Formats.Dmg.UdifWriter;

namespace DiskImage.Interop.Tests.Dmg;

/// <summary>
/// The mutation fuzzer for the dmg parser: images of both table forms whose trailer, tables and chunk data are
/// corrupted at random, each mutant run through <see cref="MutationFuzzTests.Exercise"/> (no crash, hang, stack
/// trace or huge allocation; the converted copy sound). Named ".dmg", so probing takes them for dmg.
/// </summary>
public class DmgFuzzTests
{
    private const int Seed = 20261203;

    [Fact]
    public void Mutated_images_fail_cleanly()
    {
        using var dir = new TempDirectory();
        byte[][] seeds =
        [
            Build([new Part(TypeZlib, 16, Pattern(16, 1)), new Part(TypeRaw, 4, Pattern(4, 2)), new Part(TypeZero, 64), new Part(TypeIgnore, 2), new Part(TypeBzip2, 1, [1])]),
            Build([new Part(TypeRaw, 3, Pattern(3, 3)), new Part(TypeZlib, 8, new byte[4096]), new Part(TypeZero, 1 << 20)], resourceFork: true),
        ];
        var baseSeed = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_SEED"), out var chosen) ? chosen : Seed;
        var random = new Random(baseSeed);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 24;
        var failures = new List<string>();
        var mutant = dir.File("mutant.dmg");
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var original = seeds[i % seeds.Length];
            var bytes = (byte[])original.Clone();
            var trailer = bytes.Length - 512;
            // The trailer's offsets and size, the tables (text or resource fork) before it, the chunk data.
            var tables = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(trailer + 0x20));
            var regions = new[] { (trailer + 0x18, 0x20), (trailer + 0xD8, 0x10), (trailer + 0x1EC, 8), (tables, trailer - tables), (0, tables) };
            var changes = new List<string>();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                var (start, length) = regions[random.Next(regions.Length)];
                var at = start + random.Next(Math.Max(1, length - 8));
                ulong[] extremes = [0, 1, 0x100, 0x7fffffff, 0xffffffff, 0x4000001, 0x7fffffffffffffff, ulong.MaxValue];
                switch (random.Next(3))
                {
                    case 0:
                        bytes[at] ^= (byte)(1 << random.Next(8));
                        changes.Add($"bit flip at {at}");
                        break;
                    case 1:
                        bytes[at] = (byte)random.Next(256);
                        changes.Add($"byte at {at}");
                        break;
                    default:
                        var value = extremes[random.Next(extremes.Length)];
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(Math.Min(at, bytes.Length - 8)), value);
                        changes.Add($"0x{value:x} at {at}");
                        break;
                }
            }

            File.WriteAllBytes(mutant, bytes);
            var failure = MutationFuzzTests.Exercise(mutant);
            if (failure is not null)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-dmg-{i}.dmg");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {string.Join(", ", changes)}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
