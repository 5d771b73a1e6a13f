using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Raw;
using DiskImage.Operations.Io;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>
/// The VM state area of qcow2 (qemu-io <c>read -b</c> / <c>write -b</c>): it lies in guest address space from the first
/// L1 entry past the virtual disk, so it shares the L1/L2 tables with the disk and internal snapshots carry it.
/// </summary>
public class Qcow2VmStateTests
{
    private const long DiskSize = 64L << 20;

    [Fact]
    public void Vm_state_starts_at_the_first_l1_entry_past_the_disk_and_leaves_the_disk_untouched()
    {
        using var dir = new TempDirectory();
        var path = Create(dir, DiskSize);
        var data = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();
        using (var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false }))
        {
            // One L1 entry maps 64 KiB clusters x 8192 L2 entries = 512 MiB, so the 64 MiB disk needs one entry.
            Assert.Equal(512L << 20, ((Qcow2Image)image).VmStateOffset);
            ((IVmStateArea)image).WriteVmState(0, data);
            var back = new byte[4096];
            ((IVmStateArea)image).ReadVmState(0, back);
            Assert.Equal(data, back);

            var disk = new byte[DiskSize];
            image.Read(0, disk);
            Assert.DoesNotContain(disk, b => b != 0);
        }

        // On disk: the L1 table grew from one entry to two (QEMU grows by half again, rounding up); entry 0 stays empty.
        var file = File.ReadAllBytes(path);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(36)));
        var l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(40));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)l1)));
        var l2 = (long)(BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)l1 + 8)) & 0x00fffffffffffe00UL);
        var host = (long)(BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)l2)) & 0x00fffffffffffe00UL);
        Assert.Equal(data, file.AsSpan((int)host, 4096).ToArray());
    }

    [Fact]
    public void A_far_vm_state_offset_grows_the_l1_table_as_qemu_does()
    {
        using var dir = new TempDirectory();
        var path = Create(dir, DiskSize);
        using (var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false }))
        {
            ((IVmStateArea)image).WriteVmState(1L << 40, new byte[4096]);
        }

        // qemu-io 7.2 leaves 2397 entries after "write -b 1T 4k" on this image (1, 2, 3, 5, ... 1598, 2397).
        Assert.Equal(2397u, BinaryPrimitives.ReadUInt32BigEndian(File.ReadAllBytes(path).AsSpan(36)));
    }

    [Fact]
    public void Internal_snapshots_carry_the_vm_state()
    {
        using var dir = new TempDirectory();
        var path = Create(dir, DiskSize);
        using var image = (Qcow2Image)Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false });
        var area = (IVmStateArea)image;
        area.WriteVmState(1L << 20, Filled(0x11, 8192));
        image.CreateSnapshot("one", DateTimeOffset.UnixEpoch);
        area.WriteVmState(1L << 20, Filled(0x22, 8192));

        var back = new byte[8192];
        area.ReadVmState(1L << 20, back);
        Assert.All(back, b => Assert.Equal(0x22, b));

        image.ApplySnapshot(Qcow2SnapshotSelector.Parse("one"));
        area.ReadVmState(1L << 20, back);
        Assert.All(back, b => Assert.Equal(0x11, b));
    }

    [Fact]
    public void Offsets_past_the_block_layer_limit_fail_with_an_io_error_and_unreachable_ones_as_too_large()
    {
        using var dir = new TempDirectory();
        var path = Create(dir, 1L << 20);
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false });
        var session = new QemuIoSession(image);
        Assert.Equal(["write failed: Input/output error"], session.Execute("write -b 0x7fffffffbfff0000 512").Output);
        Assert.Equal(["read failed: Input/output error"], session.Execute("read -b 0x7fffffffffff0000 512").Output);
        // Far beyond what a 32 MiB L1 table maps: refused before anything is written.
        Assert.Equal(["write failed: File too large"], session.Execute("write -b 0x4000000000000000 512").Output);
        Assert.Equal(["read 512/512 bytes at offset 0"], session.Execute("read -b -P 0 0 512").Output.Take(1));
    }

    [Fact]
    public void Raw_has_no_vm_state()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 1 << 20 });
        using var image = ImageFormatRegistry.Default.Open(path, "raw", new ImageOpenOptions { ReadOnly = false });
        var session = new QemuIoSession(image);
        Assert.Equal(["write failed: Operation not supported"], session.Execute("write -b 0 512").Output);
        Assert.Equal(["read failed: Operation not supported"], session.Execute("read -b 0 512").Output);
        Assert.Equal(["1 is not a sector-aligned value for 'offset'"], session.Execute("read -b 1 512").Output);
    }

    private static string Create(TempDirectory dir, long size)
    {
        var path = dir.File("a.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = size });
        return path;
    }

    private static byte[] Filled(byte value, int length)
    {
        var bytes = new byte[length];
        bytes.AsSpan().Fill(value);
        return bytes;
    }
}
