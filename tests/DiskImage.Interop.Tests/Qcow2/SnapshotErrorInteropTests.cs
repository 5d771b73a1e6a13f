using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// Damaged snapshot metadata (as iotest 080 damages it): each step runs with qemu-img/qemu-io 7.2 on one copy of the
/// image and with diskimg on another; standard error (program name and paths normalised), standard output and exit
/// codes must match. Offsets are found through the image's own header, not assumed.
/// </summary>
public partial class SnapshotErrorInteropTests
{
    [Fact]
    public void Creating_one_snapshot_too_many_fails_with_qemu_imgs_errno()
    {
        using var dir = new TempDirectory();
        var (theirs, ours) = Pair(dir, image =>
        {
            // The table lies past the end of the file (reads as zeroes) and holds the maximum number of entries.
            Poke64(image, 64, 16L << 20);
            Poke32(image, 60, 65536);
        });

        Same(theirs, ours, "img", "snapshot", "-c", "test", "IMG");
        Same(theirs, ours, "io", "-c", "read 0 512", "IMG");
    }

    [Theory]
    [InlineData(0xbfffffffffff0000UL)]
    [InlineData(0x800000ffffff0000UL)]
    public void A_snapshot_over_an_l2_entry_past_every_refcount_block_fails_with_qemu_imgs_errno(ulong entry)
    {
        using var dir = new TempDirectory();
        var (theirs, ours) = Pair(dir, image =>
        {
            ExternalTool.QemuIo("-c", "write 0 512", image);
            Poke64(image, L2Offset(image), (long)entry);
        });

        Same(theirs, ours, "img", "snapshot", "-c", "test", "IMG");
    }

    [Theory]
    [InlineData(0, 0x200L)]
    [InlineData(8, 0x10000000L)]
    public void An_unreadable_snapshot_l1_table_fails_each_operation_as_qemu_does(int field, long value)
    {
        using var dir = new TempDirectory();
        var (theirs, ours) = Pair(dir, image =>
        {
            ExternalTool.QemuIo("-c", "write 0 512", image);
            ExternalTool.QemuImg("snapshot", "-c", "test", image);
            var entry = ReadHeader64(image, 64);
            if (field == 0)
            {
                Poke64(image, entry, ReadHeader64(image, entry) + value);
            }
            else
            {
                Poke32(image, entry + 8, (uint)value);
            }
        });

        Same(theirs, ours, "img", "convert", "-l", "test", "IMG", "IMG.snap");
        Same(theirs, ours, "img", "amend", "-o", "compat=0.10", "IMG");
        Same(theirs, ours, "io", "-c", "open -o overlap-check.inactive-l2=on IMG", "-c", "write 0 4k");
        Same(theirs, ours, "img", "snapshot", "-a", "test", "IMG");
        Same(theirs, ours, "img", "snapshot", "-d", "test", "IMG");
        Same(theirs, ours, "img", "check", "IMG");
    }

    /// <summary>A fresh 64 MiB qcow2 image prepared by <paramref name="prepare"/>, and a copy of it.</summary>
    private static (string Theirs, string Ours) Pair(TempDirectory dir, Action<string> prepare)
    {
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", theirs, "64M");
        prepare(theirs);
        File.Copy(theirs, ours);
        return (theirs, ours);
    }

    private static void Same(string theirs, string ours, string tool, params string[] arguments)
    {
        string[] With(string image) => [.. arguments.Select(a => a.Replace("IMG", image, StringComparison.Ordinal))];
        var theirResult = ExternalTool.Run(tool == "img" ? "qemu-img" : "qemu-io", With(theirs));
        var ourResult = tool == "img" ? Diskimg.Run(With(ours)) : Diskimg.Run(["io", .. With(ours)]);
        Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
        Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
    }

    private static long L2Offset(string image)
    {
        var l1 = ReadHeader64(image, 40);
        return ReadHeader64(image, l1) & 0x00fffffffffffe00L;
    }

    private static long ReadHeader64(string image, long offset)
    {
        using var file = File.OpenRead(image);
        var bytes = new byte[8];
        file.Position = offset;
        file.ReadExactly(bytes);
        return BinaryPrimitives.ReadInt64BigEndian(bytes);
    }

    private static void Poke64(string image, long offset, long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        Poke(image, offset, bytes);
    }

    private static void Poke32(string image, long offset, uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        Poke(image, offset, bytes);
    }

    private static void Poke(string image, long offset, byte[] bytes)
    {
        using var file = new FileStream(image, FileMode.Open, FileAccess.Write);
        file.Position = offset;
        file.Write(bytes);
    }

    private static string Normalise(string text, string image) => QemuToolOutput.Normalise(text, image);
}
