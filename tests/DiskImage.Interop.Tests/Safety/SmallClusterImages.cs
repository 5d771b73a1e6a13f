using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// qcow2 images with 512-byte clusters (so their refcount structures are large and a check or amend takes long
/// enough to be interrupted), made by QEMU: <see cref="Clean"/>, 96 MiB of data with a hole discarded in it, and
/// <see cref="Leaky"/>, the same image with every free cluster's refcount raised to 1 in place (leaks only, which
/// qemu-img check reports with exit 3).
/// </summary>
public sealed class SmallClusterImages : IDisposable
{
    private readonly TempDirectory _directory = new();

    public SmallClusterImages()
    {
        Clean = _directory.File("clean.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", Clean, "128M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x5a 0 96M", "-c", "discard 16M 32M", Clean);
        Leaky = _directory.File("leaky.qcow2");
        File.Copy(Clean, Leaky);
        var leaks = LeakFreeClusters(Leaky);
        var check = ExternalTool.Run("qemu-img", "check", Leaky);
        if (check.ExitCode != 3 || leaks < 10000)
        {
            throw new InvalidOperationException($"the leaky image was not made ({leaks} leaks set, qemu-img check exit {check.ExitCode})");
        }
    }

    public string Clean { get; }

    public string Leaky { get; }

    public void Dispose() => _directory.Dispose();

    /// <summary>Sets every zero 16-bit refcount of a cluster inside the file to 1; returns how many.</summary>
    private static int LeakFreeClusters(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        Span<byte> header = stackalloc byte[104];
        file.ReadExactly(header);
        var clusterBits = BinaryPrimitives.ReadInt32BigEndian(header[20..]);
        var tableOffset = BinaryPrimitives.ReadInt64BigEndian(header[48..]);
        var tableClusters = BinaryPrimitives.ReadInt32BigEndian(header[56..]);
        var refcountOrder = BinaryPrimitives.ReadInt32BigEndian(header[96..]);
        if (refcountOrder != 4)
        {
            throw new InvalidOperationException("expected 16-bit refcounts");
        }

        var clusterSize = 1 << clusterBits;
        var perBlock = clusterSize / 2;
        var fileClusters = file.Length >> clusterBits;
        var table = new byte[(long)tableClusters << clusterBits];
        file.Position = tableOffset;
        file.ReadExactly(table);
        var block = new byte[clusterSize];
        var leaks = 0;
        for (var i = 0; i < table.Length / 8; i++)
        {
            var blockOffset = BinaryPrimitives.ReadInt64BigEndian(table.AsSpan(i * 8)) & ~0x1ffL;
            if (blockOffset == 0)
            {
                continue;
            }

            file.Position = blockOffset;
            file.ReadExactly(block);
            var changed = false;
            for (var j = 0; j < perBlock && ((long)i * perBlock) + j < fileClusters; j++)
            {
                if (BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(j * 2)) == 0)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(j * 2), 1);
                    leaks++;
                    changed = true;
                }
            }

            if (changed)
            {
                file.Position = blockOffset;
                file.Write(block);
            }
        }

        return leaks;
    }
}
