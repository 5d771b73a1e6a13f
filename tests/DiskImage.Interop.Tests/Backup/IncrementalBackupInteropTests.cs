using System.Text.Json;
using DiskImage.Interop.Tests.Bitmaps;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Nbd;

namespace DiskImage.Interop.Tests.Backup;

/// <summary>convert -B, convert --bitmap (incremental backup) and nbd -B, judged by qemu-img, qemu-io and qemu-nbd.</summary>
public class IncrementalBackupInteropTests
{
    [Fact]
    public void Convert_with_a_backing_file_allocates_as_qemu_img_and_reads_as_the_source()
    {
        using var dir = new TempDirectory();
        var (base_, top) = (dir.File("base.qcow2"), dir.File("top.qcow2"));
        ExternalTool.QemuImg("create", "-f", "qcow2", base_, "4M");
        ExternalTool.QemuIo("-c", "write -P 1 0 4M", base_);
        ExternalTool.QemuImg("create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top);
        ExternalTool.QemuIo("-c", "write -P 2 64k 64k", "-c", "write -z 256k 64k", "-c", "write -P 0 512k 64k", "-c", "write -P 3 1000k 7k", top);
        foreach (var extra in new[] { Array.Empty<string>(), ["-c"] })
        {
            string[] args = ["convert", "-O", "qcow2", "-B", "base.qcow2", "-F", "qcow2", .. extra, top];
            ExternalTool.QemuImg([.. args, dir.File("theirs.qcow2")]);
            Diskimg.Ok([.. args, dir.File("ours.qcow2")]);
            Assert.Equal(MapWithoutOffsets(dir.File("theirs.qcow2")), MapWithoutOffsets(dir.File("ours.qcow2")));
            Assert.Contains("Images are identical.", ExternalTool.QemuImg("compare", top, dir.File("ours.qcow2")), StringComparison.Ordinal);
            Assert.Contains("backing file: base.qcow2", ExternalTool.QemuImg("info", dir.File("ours.qcow2")), StringComparison.Ordinal);
            ExternalTool.QemuImg("check", dir.File("ours.qcow2"));
        }

        foreach (var args in new[]
        {
            new[] { "convert", "-O", "qcow2", "-B", "base.qcow2", top, dir.File("e.qcow2") },
            ["convert", "-O", "raw", "-B", "base.qcow2", "-F", "qcow2", top, dir.File("e.raw")],
            ["convert", "-O", "qcow2", "-F", "qcow2", top, dir.File("e.qcow2")],
            ["convert", "-O", "qcow2", "-B", "base.qcow2", "-F", "qcow2", top, top, dir.File("e.qcow2")],
        })
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdErr.Replace("qemu-img:", "", StringComparison.Ordinal), ours.StdErr.Replace("diskimg:", "", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("512")]
    [InlineData("65536")]
    [InlineData("64M")]
    public void Nbd_exports_bitmaps_as_qemu_nbd_does(string granularity)
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "200M");
        ExternalTool.QemuImg("bitmap", "--add", "-g", granularity, image, "a");
        ExternalTool.QemuImg("bitmap", "--add", "--disable", image, "off");
        ExternalTool.QemuIo("-c", "write 1000 3000", "-c", "write 3M 100k", "-c", "write 150M 5M", image);
        foreach (var name in new[] { "a", "off" })
        {
            var theirs = DirtyRanges.Read(image, name, 512);
            var socket = dir.File($"d-{name}.sock");
            using (NbdProcess.Diskimg(socket, 0, "-r", "-t", "-f", "qcow2", "-B", "off", "-B", name, "-k", socket, image))
            {
                Assert.Equal(theirs, DirtyRanges.Map(socket, name, 512));
            }
        }

        var missing = ExternalTool.Run("qemu-nbd", "-B", "nope", "-k", dir.File("x.sock"), image);
        var ours = Diskimg.Run("nbd", "-B", "nope", "-k", dir.File("y.sock"), image);
        Assert.Equal(missing.ExitCode, ours.ExitCode);
        Assert.Equal(missing.StdErr.Replace("qemu-nbd:", "", StringComparison.Ordinal), ours.StdErr.Replace("diskimg:", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Full_backup_and_three_incrementals_restore_every_point()
    {
        using var dir = new TempDirectory();
        var vm = dir.File("vm.qcow2");
        const long Granule = 65536;
        ExternalTool.QemuImg("create", "-f", "qcow2", vm, "256M");
        ExternalTool.QemuIo("-c", "write -P 0x5 0 32M", vm);
        ExternalTool.QemuImg("bitmap", "--add", vm, "b1");
        Diskimg.Ok("convert", "-O", "qcow2", vm, dir.File("full.qcow2"));
        var previous = "full.qcow2";
        var random = new Random(17);
        var carried = new SortedSet<long>();
        for (var round = 1; round <= 3; round++)
        {
            var granules = new SortedSet<long>(carried);
            carried.Clear();
            var io = new List<string>();
            for (var i = 0; i < 12; i++)
            {
                var offset = random.NextInt64(0, (256L << 20) - (1 << 20)) / 512 * 512;
                var length = random.Next(1, 2048) * 512L;
                io.Add(i % 5 == 4 ? $"write -z {offset} {length}" : $"write -P {(round * 16) + i} {offset} {length}");
                for (var g = offset / Granule; g * Granule < offset + length; g++)
                {
                    granules.Add(g);
                }

            }

            ExternalTool.QemuIo([.. io.SelectMany(c => new[] { "-c", c }), vm]);
            File.Copy(vm, dir.File($"snap{round}.qcow2"));
            var increment = $"inc{round}.qcow2";
            Diskimg.Ok("convert", "--bitmap", $"b{round}", "-B", previous, "-F", "qcow2", "-O", "qcow2", vm, dir.File(increment));
            ExternalTool.QemuImg("check", dir.File(increment));
            Assert.Contains("Images are identical.", ExternalTool.QemuImg("compare", dir.File(increment), dir.File($"snap{round}.qcow2")), StringComparison.Ordinal);
            ExternalTool.QemuImg("convert", "-O", "qcow2", dir.File(increment), dir.File($"restore{round}.qcow2"));
            Assert.Contains("Images are identical.", ExternalTool.QemuImg("compare", dir.File($"restore{round}.qcow2"), dir.File($"snap{round}.qcow2")), StringComparison.Ordinal);

            // Exactly the dirty granules are in the incremental (the granule equals the cluster).
            Assert.Equal(granules.Count * Granule, TopLayerBytes(dir.File(increment)));

            // Rotation as the README documents it: a new bitmap; the old one is merged into it when its backup is
            // not kept (round 2 plays that: the next incremental then covers both rounds), and removed.
            ExternalTool.QemuImg("bitmap", "--add", vm, $"b{round + 1}");
            if (round == 2)
            {
                ExternalTool.QemuImg("bitmap", "--merge", $"b{round}", vm, $"b{round + 1}");
                carried.UnionWith(granules);
                File.Delete(dir.File(increment));
                increment = previous;
            }

            ExternalTool.QemuImg("bitmap", "--remove", vm, $"b{round}");
            previous = increment;
        }
    }

    [Theory]
    [InlineData(512L, 512L)]
    [InlineData(4096L, 4096L)]
    [InlineData(65536L, 65536L)]
    [InlineData(1L << 20, 65536L)]
    [InlineData(4096L, 65536L)]
    public void Each_incremental_holds_the_dirty_ranges_rounded_to_a_granule(long granularity, long clusterSize)
    {
        using var dir = new TempDirectory();
        var vm = dir.File("vm.qcow2");
        const long Size = 64L << 20;
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", vm, "64M");
        ExternalTool.QemuIo("-c", "write -P 0x5 0 8M", vm);
        ExternalTool.QemuImg("bitmap", "--add", "-g", granularity.ToString(System.Globalization.CultureInfo.InvariantCulture), vm, "b");
        var options = $"cluster_size={clusterSize}";
        Diskimg.Ok("convert", "-O", "qcow2", "-o", options, vm, dir.File("full.qcow2"));
        var previous = "full.qcow2";
        var random = new Random((int)(granularity ^ clusterSize));
        for (var round = 1; round <= 2; round++)
        {
            var written = new List<(long Offset, long Length)>();
            var io = new List<string>();
            for (var i = 0; i < 10; i++)
            {
                var offset = random.NextInt64(0, Size - (1 << 20));
                var length = random.NextInt64(1, 300_000);
                written.Add((offset, length));
                io.AddRange(["-c", i % 4 == 3 ? $"write -z {offset} {length}" : $"write -P {round + i} {offset} {length}"]);
            }

            ExternalTool.QemuIo([.. io, vm]);
            File.Copy(vm, dir.File($"snap{round}.qcow2"));
            var increment = $"inc{round}.qcow2";
            Diskimg.Ok("convert", "--bitmap", "b", "-B", previous, "-F", "qcow2", "-O", "qcow2", "-o", options, vm, dir.File(increment));
            ExternalTool.QemuImg("check", dir.File(increment));
            ExternalTool.QemuImg("convert", "-O", "qcow2", dir.File(increment), dir.File($"restore{round}.qcow2"));
            Assert.Contains("Images are identical.", ExternalTool.QemuImg("compare", dir.File($"restore{round}.qcow2"), dir.File($"snap{round}.qcow2")), StringComparison.Ordinal);

            // The top layer is exactly the written ranges rounded out to whole granules (or whole clusters, where a
            // cluster is larger and qcow2 can only allocate it whole): per dirty range at most one granule's rounding.
            var unit = Math.Max(granularity, clusterSize);
            var expected = Sectors(written.Select(w => (w.Offset / unit * unit, Math.Min(Size, (w.Offset + w.Length + unit - 1) / unit * unit) - (w.Offset / unit * unit))));
            var top = Sectors(TopLayer(dir.File(increment)));
            Assert.True(expected.SetEquals(top), $"round {round}: top layer extra [{DirtyRanges.Describe(top.Except(expected))}] missing [{DirtyRanges.Describe(expected.Except(top))}] (512 B sectors)");
            Assert.True(top.Count * 512L <= written.Sum(w => w.Length + (2 * unit)));
            Assert.True(Sectors(written).IsSubsetOf(top));

            ExternalTool.QemuImg("bitmap", "--clear", vm, "b");
            previous = increment;
        }
    }

    private static IEnumerable<(long Offset, long Length)> TopLayer(string image) => JsonDocument.Parse(ExternalTool.QemuImg("map", "--output=json", image)).RootElement
        .EnumerateArray().Where(e => e.GetProperty("depth").GetInt32() == 0 && e.GetProperty("present").GetBoolean())
        .Select(e => (e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64())).ToList();

    /// <summary>The 512-byte sectors the ranges touch.</summary>
    private static SortedSet<long> Sectors(IEnumerable<(long Offset, long Length)> ranges)
    {
        var set = new SortedSet<long>();
        foreach (var (offset, length) in ranges)
        {
            for (var sector = offset / 512; sector * 512 < offset + length; sector++)
            {
                set.Add(sector);
            }
        }

        return set;
    }

    private static string MapWithoutOffsets(string image) =>
        System.Text.RegularExpressions.Regex.Replace(ExternalTool.QemuImg("map", "--output=json", image), ", \"offset\": [0-9]+", "");

    private static long TopLayerBytes(string image) => JsonDocument.Parse(ExternalTool.QemuImg("map", "--output=json", image)).RootElement
        .EnumerateArray().Where(e => e.GetProperty("depth").GetInt32() == 0 && e.GetProperty("present").GetBoolean())
        .Sum(e => e.GetProperty("length").GetInt64());
}
