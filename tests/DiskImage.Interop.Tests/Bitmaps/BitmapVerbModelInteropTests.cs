using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// A model-based test of bitmaps managed by <c>diskimg bitmap</c>: bitmaps added, enabled, disabled and cleared
/// through our verb between random writes, zero writes and discards through <c>diskimg io</c>, qemu-io (QEMU loading and storing our bitmaps),
/// <c>convert -n</c> and <c>commit</c>. After each step QEMU (qemu-nbd -B) must read in every enabled bitmap exactly
/// the granules touched while it was enabled, disabled bitmaps unchanged, and <c>qemu-img check</c> clean.
/// </summary>
public class BitmapVerbModelInteropTests
{
    private const long Size = 8L << 20;

    private static readonly (string Name, long Granularity)[] s_bitmaps = [("fine", 512), ("page", 4096), ("cluster", 65536), ("coarse", 4L << 20)];

    [Fact]
    public void Bitmaps_toggled_by_diskimg_cover_exactly_the_granules_written_while_enabled()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        Diskimg.Ok("create", "-f", "qcow2", image, Size.ToString(CultureInfo.InvariantCulture));
        var model = new Dictionary<string, SortedSet<long>>();
        var enabled = new Dictionary<string, bool>();
        foreach (var (name, granularity) in s_bitmaps)
        {
            Diskimg.Ok("bitmap", "--add", "-g", granularity.ToString(CultureInfo.InvariantCulture), image, name);
            model[name] = [];
            enabled[name] = true;
        }

        var random = new Random(4217);
        string[] paths = ["io", "qemu-io", "convert -n", "commit"];
        for (var step = 0; step < 8; step++)
        {
            // Toggle one bitmap through our verb, and now and then clear one.
            var (toggle, _) = s_bitmaps[random.Next(s_bitmaps.Length)];
            enabled[toggle] = !enabled[toggle];
            Diskimg.Ok("bitmap", enabled[toggle] ? "--enable" : "--disable", image, toggle);
            if (step % 3 == 2)
            {
                var (cleared, _) = s_bitmaps[random.Next(s_bitmaps.Length)];
                Diskimg.Ok("bitmap", "--clear", image, cleared);
                model[cleared].Clear();
            }

            var path = paths[step % paths.Length];
            var touched = Apply(dir, image, path, random);
            foreach (var (name, granularity) in s_bitmaps.Where(b => enabled[b.Name]))
            {
                foreach (var (offset, length) in touched)
                {
                    for (var granule = offset / granularity; granule * granularity < offset + length; granule++)
                    {
                        model[name].Add(granule);
                    }
                }
            }

            var check = ExternalTool.Run("qemu-img", "check", image);
            Assert.True(check.ExitCode == 0, $"step {step} via {path}: qemu-img check exited {check.ExitCode}: {check.StdOut}{check.StdErr}");
            foreach (var (name, granularity) in s_bitmaps)
            {
                var actual = DirtyRanges.Read(image, name, granularity);
                Assert.True(model[name].SetEquals(actual),
                    $"step {step} via {path}: bitmap {name} missing [{DirtyRanges.Describe(model[name].Except(actual))}] extra [{DirtyRanges.Describe(actual.Except(model[name]))}]");
            }
        }
    }

    /// <summary>Runs random operations through one path; returns the guest ranges it touched.</summary>
    private static List<(long Offset, long Length)> Apply(TempDirectory dir, string image, string path, Random random)
    {
        switch (path)
        {
            case "io":
                var ops = Enumerable.Range(0, 4).Select(_ => RandomRange(random, 512)).ToList();
                var kinds = ops.Select(_ => random.Next(3)).ToList();
                var commands = ops.Select((op, i) => kinds[i] switch
                {
                    0 => $"write -P 0x5a {op.Offset} {op.Length}",
                    1 => $"write -z {op.Offset} {op.Length}",
                    _ => $"discard {op.Offset} {op.Length}",
                });
                Diskimg.Ok(["io", "-f", "qcow2", .. commands.SelectMany(c => new[] { "-c", c }), image]);
                return ops;
            case "qemu-io":
            {
                // QEMU itself loads the bitmaps we stored, dirties the enabled ones and stores them back.
                var (offset, length) = RandomRange(random, 512);
                ExternalTool.QemuIo("-c", $"write -P 0x3c {offset} {length}", image);
                return [(offset, length)];
            }

            case "convert -n":
            {
                // convert -n writes every byte of the target (data and zeroes).
                var source = dir.File("full.raw");
                ExternalTool.QemuImg("create", "-f", "raw", source, Size.ToString(CultureInfo.InvariantCulture));
                var (offset, length) = RandomRange(random, 4096);
                ExternalTool.QemuIo("-f", "raw", "-c", $"write -P 0x44 {offset} {length}", source);
                Diskimg.Ok("convert", "-n", "-f", "raw", "-O", "qcow2", source, image);
                return [(0, Size)];
            }

            default:
            {
                // commit writes the overlay's clusters (whole clusters of the overlay) into the image.
                var overlay = dir.File("overlay.qcow2");
                File.Delete(overlay);
                ExternalTool.QemuImg("create", "-f", "qcow2", "-o", "cluster_size=65536", "-b", image, "-F", "qcow2", overlay);
                var (offset, length) = RandomRange(random, 512);
                ExternalTool.QemuIo("-c", $"write -P 0x66 {offset} {length}", overlay);
                Diskimg.Ok("commit", "-d", overlay);
                var start = offset / 65536 * 65536;
                return [(start, Math.Min(Size, (offset + length + 65535) / 65536 * 65536) - start)];
            }
        }
    }

    private static (long Offset, long Length) RandomRange(Random random, long unit)
    {
        var offset = random.NextInt64(Size / unit) * unit;
        return (offset, Math.Min(Size - offset, (1 + random.Next(256)) * unit));
    }
}
