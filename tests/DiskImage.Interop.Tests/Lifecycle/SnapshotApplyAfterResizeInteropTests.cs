using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// <c>snapshot -a</c> of snapshots taken at other virtual sizes than the image's when it is applied (the image grown or
/// shrunk since), compared byte for byte with qemu-img's result on a copy of the same file: random sizes, writes and
/// orders of application (seeded, so a failure names its seed). Each step before the applications is done by
/// qemu-img/qemu-io, so both tools start from the same bytes.
/// </summary>
public class SnapshotApplyAfterResizeInteropTests
{
    private const long MiB = 1 << 20;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Applying_snapshots_of_other_sizes_leaves_the_file_qemu_img_leaves(int seed)
    {
        var random = new Random(seed);
        using var dir = new TempDirectory();
        var start = dir.File("start.qcow2");
        var size = random.Next(1, 9) * MiB;
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", start, size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var snapshots = new List<string>();
        for (var step = 0; step < 3; step++)
        {
            for (var w = random.Next(1, 4); w > 0; w--)
            {
                var offset = random.NextInt64(0, size / 512) * 512;
                var length = Math.Min(size - offset, random.Next(1, 129) * 512);
                ExternalTool.QemuIo("-f", "qcow2", "-c", $"write -P {random.Next(1, 255)} {offset} {length}", start);
            }

            var name = "s" + step;
            ExternalTool.QemuImg("snapshot", "-c", name, start);
            snapshots.Add(name);

            // Mostly grown (by up to 2 GiB, so the L1 table moves), sometimes shrunk.
            var next = random.Next(4) == 0 && size > MiB ? size - random.Next(1, (int)(size / MiB)) * MiB : size + random.NextInt64(1, 2048) * MiB;
            ExternalTool.QemuImg("resize", "-q", "--shrink", "-f", "qcow2", start, next.ToString(System.Globalization.CultureInfo.InvariantCulture));
            size = next;
            var tail = random.NextInt64(0, size / 65536) * 65536;
            ExternalTool.QemuIo("-f", "qcow2", "-c", $"write -P {random.Next(1, 255)} {tail} 64k", start);
        }

        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        File.Copy(start, theirs);
        File.Copy(start, ours);
        var order = snapshots.OrderBy(_ => random.Next()).Take(2).ToList();
        foreach (var name in order)
        {
            ExternalTool.QemuImg("snapshot", "-a", name, theirs);
            Diskimg.Ok("snapshot", "-a", name, ours);
            Assert.True(File.ReadAllBytes(theirs).AsSpan().SequenceEqual(File.ReadAllBytes(ours)),
                $"seed {seed}: the files differ after applying {string.Join(", then ", order)}");
        }

        Assert.Contains("No errors were found", ExternalTool.QemuImg("check", ours), StringComparison.Ordinal);
    }
}
