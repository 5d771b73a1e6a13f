using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// qemu-made images with persistent dirty bitmaps, and where their bitmaps extension, directory and tables
/// lie (read from the file, which qemu-img wrote), so tests can corrupt one field at a time.
/// </summary>
internal sealed class QemuBitmapImage
{
    private QemuBitmapImage(string path) => Path = path;

    public string Path { get; }

    /// <summary>
    /// A 100 MiB image with bitmap <c>b1</c> (enabled, dirtied by qemu-io writes) and <c>b2</c> (64 KiB, disabled).
    /// </summary>
    public static QemuBitmapImage Create(string path, string clusterSize = "65536")
    {
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"cluster_size={clusterSize}", path, "100M");
        ExternalTool.QemuImg("bitmap", "--add", path, "b1");
        ExternalTool.QemuImg("bitmap", "--add", "-g", "65536", "--disable", path, "b2");
        ExternalTool.QemuIo("-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 50M 64k", path);
        return new QemuBitmapImage(path);
    }

    /// <summary>Offset of the bitmaps header extension's payload (count, reserved, directory size, directory offset).</summary>
    public long ExtensionOffset
    {
        get
        {
            var bytes = File.ReadAllBytes(Path);
            var position = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(100));
            while (true)
            {
                var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(position));
                var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(position + 4));
                if (magic == 0x23852875)
                {
                    return position + 8;
                }

                if (magic == 0)
                {
                    throw new InvalidOperationException("no bitmaps extension");
                }

                position += 8 + ((length + 7) & ~7);
            }
        }
    }

    public long DirectoryOffset => (long)ReadU64(ExtensionOffset + 16);

    /// <summary>Offset of the second directory entry (the first, "b1", has a two-byte name: 24 + 2 padded to 32).</summary>
    public long SecondEntryOffset => DirectoryOffset + 32;

    public long FirstTableOffset => (long)ReadU64(DirectoryOffset);

    public ulong ReadU64(long offset)
    {
        using var file = File.OpenRead(Path);
        Span<byte> buffer = stackalloc byte[8];
        file.Position = offset;
        file.ReadExactly(buffer);
        return BinaryPrimitives.ReadUInt64BigEndian(buffer);
    }

    public void Write(long offset, ReadOnlySpan<byte> bytes)
    {
        using var file = File.OpenWrite(Path);
        file.Position = offset;
        file.Write(bytes);
    }

    public void WriteU64(long offset, ulong value)
    {
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, value);
        Write(offset, buffer);
    }

    public void WriteU32(long offset, uint value)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(buffer, value);
        Write(offset, buffer);
    }

    public void WriteByte(long offset, byte value) => Write(offset, [value]);
}
