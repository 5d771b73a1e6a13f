using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// A snapshot table QEMU refuses to open (an entry with more than 1 KiB of extra data, more snapshots than the format
/// allows): open fails with qemu-img's message and hint, check without repair fails as qemu-img's does, and
/// <c>check -r all</c> repairs it as qemu-img does (iotest 261). Each case runs qemu-img on one copy and diskimg on another.
/// </summary>
public class SnapshotTableRepairInteropTests
{
    /// <summary>A v3 image with three internal snapshots made by qemu-img; returns its path and the third entry's offset.</summary>
    private static (string Path, long ThirdEntry) ImageWithSnapshots(TempDirectory dir)
    {
        var path = dir.File("snaps.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", path, "64M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x5a 0 128k", path);
        foreach (var name in new[] { "sn0", "sn1", "sn2" })
        {
            ExternalTool.QemuImg("snapshot", "-c", name, path);
        }

        var bytes = File.ReadAllBytes(path);
        var offset = (long)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(64));
        for (var i = 0; i < 2; i++)
        {
            var entry = bytes.AsSpan((int)offset);
            var length = 40 + BinaryPrimitives.ReadUInt32BigEndian(entry[36..]) + BinaryPrimitives.ReadUInt16BigEndian(entry[12..]) + BinaryPrimitives.ReadUInt16BigEndian(entry[14..]);
            offset += (length + 7) & ~7L;
        }

        return (path, offset);
    }

    private static void Poke(string path, long offset, uint value)
    {
        using var file = File.OpenWrite(path);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        file.Position = offset;
        file.Write(bytes);
    }

    private static string Copy(string path, string suffix)
    {
        var copy = path + suffix;
        File.Copy(path, copy, overwrite: true);
        return copy;
    }

    /// <summary>Runs the same qemu-img command line on one copy and diskimg on another; exit codes and output must match.</summary>
    private static (string Theirs, string Ours) Same(string path, params string[] verb)
    {
        var theirCopy = Copy(path, ".theirs");
        var ourCopy = Copy(path, ".ours");
        var theirs = ExternalTool.Run("qemu-img", [.. verb, theirCopy]);
        var ours = Diskimg.Run([.. verb, ourCopy]);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, theirCopy), QemuToolOutput.Normalise(ours.StdErr, ourCopy));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, theirCopy), QemuToolOutput.Normalise(ours.StdOut, ourCopy));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        return (theirCopy, ourCopy);
    }

    [Fact]
    public void Too_much_extra_metadata_is_refused_reported_and_repaired_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var (path, third) = ImageWithSnapshots(dir);
        Poke(path, third + 36, 0x10000);

        var info = ExternalTool.Run("qemu-img", "info", path);
        Assert.Contains("You can force-remove this extra metadata", info.StdErr, StringComparison.Ordinal);
        Same(path, "info");
        Same(path, "check");
        var (theirs, ours) = Same(path, "check", "-r", "all");

        // The repaired images open again, list the same snapshots and keep the data.
        Assert.Equal(ExternalTool.QemuImg("check", theirs), ExternalTool.QemuImg("check", ours));
        Assert.Equal(SnapshotNames(theirs), SnapshotNames(ours));
        Assert.Equal(3, SnapshotNames(ours).Count);
        ExternalTool.QemuImg("compare", "-f", "qcow2", "-F", "qcow2", theirs, ours);
    }

    [Fact]
    public void Too_many_snapshots_fail_open_and_check_as_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var (path, _) = ImageWithSnapshots(dir);
        Poke(path, 60, 65536 + 3);

        Same(path, "info");
        Same(path, "check");
    }

    private static List<string> SnapshotNames(string path) =>
        [.. ExternalTool.QemuImg("snapshot", "-l", path).Split('\n').Skip(2).Where(l => l.Length > 0).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])];
}
