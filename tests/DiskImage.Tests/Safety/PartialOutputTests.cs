using DiskImage.IO;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Safety;

/// <summary>An output is whole or absent: written under a name that says it is incomplete, renamed only when committed.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class PartialOutputTests
{
    [Fact]
    public void Uncommitted_output_is_removed_and_an_existing_target_is_untouched()
    {
        using var dir = new TempDirectory();
        var target = dir.File("out.img");
        File.WriteAllBytes(target, [9, 9, 9]);
        using (var output = PartialOutput.Begin(target))
        {
            Assert.False(output.InPlace);
            Assert.StartsWith(".out.img" + PartialOutput.Marker, Path.GetFileName(output.WritePath), StringComparison.Ordinal);
            Assert.Equal(dir.Path, Path.GetDirectoryName(Path.GetFullPath(output.WritePath)));
            File.WriteAllBytes(output.WritePath, [1, 2, 3, 4]);
        }

        Assert.Equal([9, 9, 9], File.ReadAllBytes(target));
        Assert.Equal(["out.img"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Committed_output_replaces_the_target_keeping_its_mode_and_leaves_nothing_else()
    {
        using var dir = new TempDirectory();
        var target = dir.File("out.img");
        File.WriteAllBytes(target, [9]);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using (var output = PartialOutput.Begin(target))
        {
            File.WriteAllBytes(output.WritePath, [1, 2, 3, 4]);
            Assert.Equal([9], File.ReadAllBytes(target));
            output.Commit(flushToDisk: true);
        }

        Assert.Equal([1, 2, 3, 4], File.ReadAllBytes(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
        Assert.Equal(["out.img"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_symlinked_target_keeps_its_link_and_a_device_is_written_in_place()
    {
        using var dir = new TempDirectory();
        var real = Directory.CreateDirectory(dir.File("real")).FullName;
        File.WriteAllBytes(Path.Combine(real, "disk.img"), [9]);
        File.CreateSymbolicLink(dir.File("link.img"), Path.Combine(real, "disk.img"));
        using (var output = PartialOutput.Begin(dir.File("link.img")))
        {
            Assert.Equal(real, Path.GetDirectoryName(output.WritePath));
            File.WriteAllBytes(output.WritePath, [5]);
            output.Commit(flushToDisk: false);
        }

        Assert.NotNull(new FileInfo(dir.File("link.img")).LinkTarget);
        Assert.Equal([5], File.ReadAllBytes(dir.File("link.img")));

        using var device = PartialOutput.Begin("/dev/null");
        Assert.True(device.InPlace);
        Assert.Equal("/dev/null", device.WritePath);
    }
}
