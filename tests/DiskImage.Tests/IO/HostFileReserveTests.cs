using DiskImage.IO;

namespace DiskImage.Tests.IO;

/// <summary>
/// <see cref="HostFile.ReserveBeforeWrites"/>: a new output's large writes reserve their blocks first. The file must end
/// up exactly as without it: the same bytes, the same length and the same data and holes.
/// </summary>
public class HostFileReserveTests : IDisposable
{
    private const int KiB = 1 << 10;
    private const int MiB = 1 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("hostfile-reserve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Reserving_turns_on_only_on_ext4()
    {
        using var file = HostFile.Create(Path.Combine(_dir, "target"));
        file.ReserveBeforeWrites = true;

        // The runtime names the file system from the same statfs magic: ext2, ext3 and ext4 share one.
        var format = new DriveInfo(_dir).DriveFormat;
        Assert.Equal(format is "ext2" or "ext3" or "ext4", file.ReserveBeforeWrites);
    }

    [Fact]
    public void Reserving_stays_off_on_tmpfs()
    {
        const string shm = "/dev/shm";
        if (!Directory.Exists(shm) || new DriveInfo(shm).DriveFormat != "tmpfs")
        {
            Assert.False(OperatingSystem.IsLinux() && Directory.Exists(shm), "/dev/shm is not a tmpfs here");
            return;
        }

        var path = Path.Combine(shm, $"hostfile-reserve-{Guid.NewGuid():N}.img");
        try
        {
            using var file = HostFile.Create(path);
            file.ReserveBeforeWrites = true;
            Assert.False(file.ReserveBeforeWrites);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_new_output_opened_by_a_format_reserves_and_its_backing_files_do_not()
    {
        var path = Path.Combine(_dir, "target");
        HostFile.Create(path).Dispose();
        var options = new DiskImage.Formats.ImageOpenOptions { ReadOnly = false, NewOutputFile = true };
        var onExt4 = new DriveInfo(_dir).DriveFormat is "ext2" or "ext3" or "ext4";

        using (var file = Assert.IsType<HostFile>(options.OpenFile(path, formatOwnsFile: true)))
        {
            Assert.Equal(onExt4, file.ReserveBeforeWrites);
        }

        Assert.False(options.ForBacking().NewOutputFile);
        using var plain = Assert.IsType<HostFile>((options with { NewOutputFile = false }).OpenFile(path, formatOwnsFile: true));
        Assert.False(plain.ReserveBeforeWrites);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Random_writes_leave_the_same_file_as_without_reserving(int seed)
    {
        var random = new Random(seed);
        var plainPath = Path.Combine(_dir, "plain");
        var reservedPath = Path.Combine(_dir, "reserved");
        using (var plain = HostFile.Create(plainPath))
        using (var reserved = HostFile.Create(reservedPath))
        {
            reserved.ReserveBeforeWrites = true;
            for (var i = 0; i < 24; i++)
            {
                // Past the end and into holes, small (under the reserving threshold) and large, aligned and not.
                var offset = random.Next(2) == 0 ? plain.Length + random.Next(0, 4 * MiB) : random.NextInt64(0, 40L * MiB);
                var length = random.Next(3) switch
                {
                    0 => random.Next(1, 64 * KiB),
                    1 => random.Next(64, 4 * MiB / KiB) * KiB,
                    _ => random.Next(64 * KiB, 3 * MiB),
                };
                var data = new byte[length];
                random.NextBytes(data);
                plain.Write(offset, data);
                reserved.Write(offset, data);
            }

            plain.Flush();
            reserved.Flush();
            Assert.Equal(plain.Length, reserved.Length);
            Assert.Equal(plain.GetExtents(0, plain.Length), reserved.GetExtents(0, reserved.Length));
        }

        Assert.True(File.ReadAllBytes(plainPath).AsSpan().SequenceEqual(File.ReadAllBytes(reservedPath)));
    }

    [Fact]
    public void A_write_past_the_end_reserves_no_more_than_it_writes()
    {
        var path = Path.Combine(_dir, "target");
        using var file = HostFile.Create(path);
        file.ReserveBeforeWrites = true;
        var data = new byte[3 * MiB];
        new Random(7).NextBytes(data);
        file.Write(5L * MiB, data);
        file.Flush();

        Assert.Equal(8L * MiB, file.Length);
        var extents = file.GetExtents(0, file.Length);
        Assert.Equal(new Extent(5L * MiB, 3L * MiB, ExtentKind.Data), Assert.Single(extents, e => e.Kind == ExtentKind.Data));

        // A few blocks of the file system's own (an extent tree block) at most, never the megabytes of a reservation.
        Assert.InRange(file.AllocatedSize, 3L * MiB, 3L * MiB + 64 * KiB);
    }
}
