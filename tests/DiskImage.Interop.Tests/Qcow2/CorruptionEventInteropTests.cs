using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// A fatal qcow2 corruption event (a write that an L2 entry sends onto a refcount block) takes the node's driver away
/// in QEMU: every later request of the same qemu-io run fails with <c>No medium found</c>. qemu-io 7.2 and
/// <c>diskimg io</c> run the same commands on identical images; output and exit code must match.
/// </summary>
public class CorruptionEventInteropTests
{
    [Fact]
    public void Requests_after_a_fatal_corruption_event_match_qemu_io()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", theirs, "1M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 1 0 64k", theirs);
        PointFirstClusterAtRefcountBlock(theirs);
        File.Copy(theirs, ours);
        string[] commands = ["write 0 512", "read 0 512", "write 64k 512", "discard 0 64k", "write -z 0 512", "flush", "length", "map"];
        string[] arguments = [.. commands.SelectMany(c => new[] { "-c", c })];

        var theirResult = ExternalTool.Run("qemu-io", [.. arguments, theirs]);
        var ourResult = Diskimg.Run(["io", .. arguments, ours]);

        Assert.Contains("No medium found", theirResult.StdOut, StringComparison.Ordinal);
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdOut, theirs), QemuToolOutput.Normalise(ourResult.StdOut, ours));
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr, theirs), QemuToolOutput.Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    /// <summary>Rewrites guest cluster 0's L2 entry to the first refcount block's cluster (the overlap QEMU's check catches).</summary>
    private static void PointFirstClusterAtRefcountBlock(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[104];
        file.ReadExactly(header);
        var l1Offset = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(40));
        var refcountTable = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(48));
        var entry = new byte[8];
        file.Position = refcountTable;
        file.ReadExactly(entry);
        var refcountBlock = (long)BinaryPrimitives.ReadUInt64BigEndian(entry);
        file.Position = l1Offset;
        file.ReadExactly(entry);
        var l2Offset = (long)(BinaryPrimitives.ReadUInt64BigEndian(entry) & 0x00fffffffffffe00UL);
        BinaryPrimitives.WriteUInt64BigEndian(entry, 0x8000000000000000UL | (ulong)refcountBlock);
        file.Position = l2Offset;
        file.Write(entry);
    }
}
