using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Raw;
using DiskImage.IO;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.IO;

/// <summary>
/// QEMU's image locks taken by the library. Open-file-description locks belong to an open file, not a process,
/// so two opens in this process contend exactly as two processes would. The bytes held are read back from
/// the kernel's lock table (<c>/proc/locks</c>) and compared with what QEMU 7.2 holds in the same situation
/// (observed with qemu-io: a read-write qcow2 holds 100, 101, 103 and refuses 201, 203).
/// </summary>
public class ImageLockTests
{
    private static readonly ImageOpenOptions Writable = new() { ReadOnly = false };

    [Fact]
    public void A_writer_keeps_out_a_second_writer_with_qemu_s_message()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        using var first = Qcow2Format.Instance.Open(path, Writable);

        var e = Assert.Throws<ImageLockedException>(() => Qcow2Format.Instance.Open(path, Writable));

        Assert.Equal("Failed to get \"write\" lock", e.Message);
        Assert.Equal($"Is another process using the image [{path}]?", e.Hint);
    }

    [Fact]
    public void A_writer_keeps_out_a_reader_of_qcow2_but_not_a_force_share_reader()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        using var writer = Qcow2Format.Instance.Open(path, Writable);

        var e = Assert.Throws<ImageLockedException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()));
        Assert.Equal("Failed to get shared \"write\" lock", e.Message);

        using var shared = Qcow2Format.Instance.Open(path, new ImageOpenOptions { ForceShare = true });
        Assert.Equal(writer.Length, shared.Length);
    }

    [Fact]
    public void Readers_share_and_a_reader_keeps_out_a_writer()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        using var reader = Qcow2Format.Instance.Open(path, new ImageOpenOptions());
        using var second = Qcow2Format.Instance.Open(path, new ImageOpenOptions());

        var e = Assert.Throws<ImageLockedException>(() => Qcow2Format.Instance.Open(path, Writable));
        Assert.Equal("Failed to get \"write\" lock", e.Message);
    }

    [Fact]
    public void Closing_the_holder_releases_its_lock()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        Qcow2Format.Instance.Open(path, Writable).Dispose();

        using var again = Qcow2Format.Instance.Open(path, Writable);
        Assert.True(again.Length > 0);
    }

    [Fact]
    public void Raw_shares_everything_with_another_raw_writer_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        File.WriteAllBytes(path, new byte[4096]);
        using var first = RawFormat.Instance.Open(path, Writable);
        using var second = RawFormat.Instance.Open(path, Writable);

        Assert.Equal(new[] { 100, 101 }, HeldBytes(path));
    }

    [Fact]
    public void A_converter_s_source_refuses_writers_even_for_raw()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        File.WriteAllBytes(path, new byte[4096]);
        using var source = RawFormat.Instance.Open(path, new ImageOpenOptions { SharedPermissions = LockPermissions.ConsistentRead | LockPermissions.WriteUnchanged });

        var e = Assert.Throws<ImageLockedException>(() => RawFormat.Instance.Open(path, Writable));

        Assert.Equal("Failed to get \"write\" lock", e.Message);
        Assert.Equal(new[] { 100, 201, 203 }, HeldBytes(path));
    }

    [Theory]
    [InlineData(false, new[] { 100, 101, 103, 201, 203 })]
    [InlineData(true, new[] { 100, 201, 203 })]
    public void A_qcow2_holds_the_bytes_qemu_io_holds(bool readOnly, int[] expected)
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        using var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = readOnly });

        Assert.Equal(expected, HeldBytes(path));
    }

    [Fact]
    public void Metadata_only_opens_hold_no_permission_and_force_share_refuses_nothing()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        using (Qcow2Format.Instance.Open(path, new ImageOpenOptions { MetadataOnly = true }))
        {
            // qemu-img info on a qcow2: no permission held, write and resize refused.
            Assert.Equal(new[] { 201, 203 }, HeldBytes(path));
        }

        using (Qcow2Format.Instance.Open(path, new ImageOpenOptions { MetadataOnly = true, ForceShare = true }))
        {
            Assert.Empty(HeldBytes(path));
        }
    }

    [Fact]
    public void Force_share_with_write_access_is_refused_in_qemu_s_words()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);

        var e = Assert.Throws<InvalidOptionException>(() => ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false, ForceShare = true }));

        Assert.Equal($"Could not open '{path}': force-share=on can only be used with read-only images", e.Message);
    }

    [Fact]
    public void Locking_off_neither_takes_nor_checks_locks()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        using var writer = Qcow2Format.Instance.Open(path, Writable);
        var before = HeldBytes(path);

        using var unlocked = Qcow2Format.Instance.Open(path, new ImageOpenOptions { Locking = ImageLocking.Off });

        Assert.Equal(before, HeldBytes(path));
    }

    [Fact]
    public void Dropping_permissions_lets_a_writer_in()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        File.WriteAllBytes(path, new byte[4096]);
        using var file = HostFile.Open(path, writable: true, new LockRequest(LockPermissions.ConsistentRead | LockPermissions.Write, LockPermissions.ConsistentRead, ImageLocking.On, path));
        Assert.Throws<ImageLockedException>(() => HostFile.Open(path, writable: true, new LockRequest(LockPermissions.Write, LockPermissions.All, ImageLocking.On, path)).Dispose());

        file.Lock!.Change(LockPermissions.ConsistentRead, LockPermissions.All);

        using var writer = HostFile.Open(path, writable: true, new LockRequest(LockPermissions.Write, LockPermissions.All, ImageLocking.On, path));
        Assert.Equal(new[] { 100, 101 }, HeldBytes(path));
    }

    [Fact]
    public void Creating_over_a_file_in_use_is_refused_and_leaves_it_whole()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        var before = File.ReadAllBytes(path);
        using var holder = Qcow2Format.Instance.Open(path, Writable);

        var e = Assert.Throws<ImageLockedException>(() => Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 1 << 20 }));

        Assert.Equal("Failed to get \"write\" lock", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_refused_open_leaves_the_holder_s_locks_as_they_were()
    {
        using var dir = new TempDirectory();
        var path = NewQcow2(dir);
        using var holder = Qcow2Format.Instance.Open(path, new ImageOpenOptions());
        var before = HeldBytes(path);

        Assert.Throws<ImageLockedException>(() => Qcow2Format.Instance.Open(path, Writable));

        Assert.Equal(before, HeldBytes(path));
    }

    private static string NewQcow2(TempDirectory dir)
    {
        var path = dir.File("disk.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 1 << 20 });
        return path;
    }

    /// <summary>Bytes of the file under some OFD lock, from the kernel's lock table (sorted, each once).</summary>
    private static int[] HeldBytes(string path)
    {
        var inode = Inode(path);
        var held = new SortedSet<int>();
        foreach (var line in File.ReadAllLines("/proc/locks"))
        {
            // "1: OFDLCK ADVISORY  READ -1 fe:00:11657673 100 101"
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 8 || fields[1] != "OFDLCK" || !fields[5].EndsWith(":" + inode, StringComparison.Ordinal))
            {
                continue;
            }

            for (var b = int.Parse(fields[6]); b <= int.Parse(fields[7]); b++)
            {
                held.Add(b);
            }
        }

        return [.. held];
    }

    private static string Inode(string path)
    {
        using var handle = File.OpenHandle(path);
        return LinuxFileCalls.Identity(handle.DangerousGetHandle())!.Value.Inode.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
