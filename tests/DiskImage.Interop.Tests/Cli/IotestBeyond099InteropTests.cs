using System.Buffers.Binary;
using System.Text;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// Behaviours QEMU's iotests numbered above 099 exercise (106, 112, 114, 214), pinned here because CI cannot run QEMU's
/// scripts: qemu-img/qemu-io and diskimg run on identical inputs; stdout, stderr (program name normalised) and the
/// exit code must be equal, and images either tool leaves behind must check the same.
/// </summary>
public class IotestBeyond099InteropTests
{
    // 112: number options as strtoull reads them (sign, hex, octal, white space) and the Formatting line's
    // normalised value; 214: hexadecimal sizes, with qemu's deprecation warning when a suffix follows; 106: the
    // file protocol's nocow and extent_size_hint for raw.
    [Theory]
    [InlineData("qcow2", "-o refcount_bits=0 {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=-1 {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=-0x8 {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=128 {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=0x10 {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=010 {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=+4 {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=16x {img} 64M")]
    [InlineData("qcow2", "-o refcount_bits=99999999999999999999 {img} 64M")]
    [InlineData("qcow2", "-o cluster_size=0x10000 {img} 2M")]
    [InlineData("qcow2", "-o cluster_size=0x10k {img} 2M")]
    [InlineData("qcow2", "-o cluster_size=0x {img} 2M")]
    [InlineData("qcow2", "-o cluster_size=0x1.5k {img} 2M")]
    [InlineData("raw", "{img} 0x100000")]
    [InlineData("raw", "{img} 0x1bE")]
    [InlineData("raw", "{img} 0x1k")]
    [InlineData("raw", "-o preallocation=off,extent_size_hint=0 {img} 128k")]
    [InlineData("raw", "-o preallocation=off,extent_size_hint=1M,nocow=off {img} 1M")]
    [InlineData("raw", "-o nocow=yes {img} 1M")]
    [InlineData("raw", "-o nocow=foo {img} 1M")]
    [InlineData("raw", "-o extent_size_hint=foo {img} 1M")]
    public void Create_reads_numbers_and_hexadecimal_sizes_as_qemu_img_does(string format, string command)
    {
        using var dir = new TempDirectory();
        var img = dir.File("t." + format);
        var args = new[] { "create", "-f", format }
            .Concat(command.Split(' ').Select(a => a.Replace("{img}", img, StringComparison.Ordinal))).ToArray();

        var theirs = ExternalTool.Run("qemu-img", args);
        var theirSize = File.Exists(img) ? new FileInfo(img).Length : -1;
        File.Delete(img);
        var ours = Diskimg.Run(args);

        AssertSame(theirs, ours);
        Assert.Equal(theirSize, File.Exists(img) ? new FileInfo(img).Length : -1);
    }

    // 112: a snapshot whose refcounts would overflow fails with EINVAL after its L1 copy was allocated, which
    // stays behind as a leak that check reports (QEMU's order).
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Snapshot_refcount_overflow_fails_and_leaks_as_qemu_img(int refcountBits)
    {
        using var dir = new TempDirectory();
        var theirsImg = dir.File("theirs.qcow2");
        var oursImg = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", $"refcount_bits={refcountBits}", theirsImg, "64M");
        ExternalTool.Run("qemu-io", "-c", "write 0 512", theirsImg).EnsureSuccess("qemu-io write");
        if (refcountBits == 2)
        {
            // Two snapshots fit in two bits; the third overflows.
            ExternalTool.QemuImg("snapshot", "-c", "foo", theirsImg);
            ExternalTool.QemuImg("snapshot", "-c", "bar", theirsImg);
        }

        File.Copy(theirsImg, oursImg);

        var theirs = ExternalTool.Run("qemu-img", "snapshot", "-c", "baz", theirsImg);
        var ours = Diskimg.Run("snapshot", "-c", "baz", oursImg);
        AssertSame(theirs, ours);

        var theirCheck = ExternalTool.Run("qemu-img", "check", theirsImg);
        var ourCheck = ExternalTool.Run("qemu-img", "check", oursImg);
        Assert.Contains("leaked clusters were found", theirCheck.StdOut, StringComparison.Ordinal);
        Assert.Equal(theirCheck.StdOut.Replace(theirsImg, "IMG", StringComparison.Ordinal), ourCheck.StdOut.Replace(oursImg, "IMG", StringComparison.Ordinal));
        Assert.Equal(theirCheck.ExitCode, ourCheck.ExitCode);
    }

    // 114: of two backing format extensions the later one counts, as QEMU reads them in order.
    [Fact]
    public void A_repeated_backing_format_extension_is_read_as_qemu_reads_it()
    {
        using var dir = new TempDirectory();
        var baseImg = dir.File("t.qcow2.base");
        var img = dir.File("t.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", baseImg, "64M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", baseImg, "-F", "qcow2", img, "64M");
        AppendBackingFormatExtension(img, "foo");

        AssertSame(ExternalTool.Run("qemu-img", "info", img), Diskimg.Run("info", img));
        var theirs = ExternalTool.Run("qemu-io", "-c", $"open {img}", "-c", "read 0 4k");
        var ours = Diskimg.Run("io", "-c", $"open {img}", "-c", "read 0 4k");
        Assert.Contains("Unknown driver 'foo'", theirs.StdErr + theirs.StdOut, StringComparison.Ordinal);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>Adds a backing format extension after the existing ones, moving the backing file name behind it.</summary>
    private static void AppendBackingFormatExtension(string path, string format)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(100));
        var nameOffset = (int)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(8));
        var nameLength = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(16));
        var name = bytes.AsSpan(nameOffset, nameLength).ToArray();

        var at = headerLength;
        while (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at)) != 0)
        {
            at += 8 + (int)((BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 4)) + 7) & ~7u);
        }

        var data = Encoding.ASCII.GetBytes(format);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), 0xE2792ACA);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at + 4), (uint)data.Length);
        Array.Clear(bytes, at + 8, 4096 - (at + 8));
        data.CopyTo(bytes, at + 8);
        at += 8 + ((data.Length + 7) & ~7);
        at += 8; // end-of-extensions marker (zeroes)
        name.CopyTo(bytes, at);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), (ulong)at);
        File.WriteAllBytes(path, bytes);
    }

    private static void AssertSame(ExternalTool.Result theirs, ExternalTool.Result ours)
    {
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
