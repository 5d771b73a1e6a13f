using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// Rewriting the header (rebase -u) places a new backing format extension where qemu-img 7.2 does: before the
/// feature table and before unknown extensions it keeps (iotest 031). Judged by comparing the header cluster byte for byte.
/// </summary>
public class HeaderExtensionOrderInteropTests
{
    private const uint UnknownMagic = 0x12345678;

    [Theory]
    [InlineData("0.10")]
    [InlineData("1.1")]
    public void Rebase_writes_the_header_extensions_in_qemu_img_order(string compat)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"compat={compat}", theirs, "64M");
        AppendUnknownExtension(theirs);
        File.Copy(theirs, ours);

        ExternalTool.QemuImg("rebase", "-u", "-b", "/some/backing/file/path", "-F", "raw", theirs);
        Diskimg.Ok("rebase", "-u", "-b", "/some/backing/file/path", "-F", "raw", ours);

        var expected = File.ReadAllBytes(theirs).AsSpan(0, 65536).ToArray();
        Assert.Equal(expected, File.ReadAllBytes(ours).AsSpan(0, 65536).ToArray());
        // The backing format extension now leads, and the unknown one is still there.
        var headerLength = compat == "1.1" ? BinaryPrimitives.ReadInt32BigEndian(expected.AsSpan(100)) : 72;
        Assert.Equal(0xE2792ACAu, BinaryPrimitives.ReadUInt32BigEndian(expected.AsSpan(headerLength)));
        Assert.True(expected.AsSpan().IndexOf("test"u8) > headerLength);
    }

    /// <summary>Adds an extension qemu-img does not know after the existing ones, as iotest 031 does with its helper.</summary>
    private static void AppendUnknownExtension(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var version = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        var offset = version >= 3 ? BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(100)) : 72;
        while (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset)) != 0)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset + 4));
            offset += 8 + ((length + 7) & ~7);
        }

        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), UnknownMagic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(offset + 4), 4);
        "test"u8.CopyTo(bytes.AsSpan(offset + 8));
        bytes.AsSpan(offset + 16, 8).Clear();
        File.WriteAllBytes(path, bytes);
    }
}
