using DiskImage.Formats.Iso9660;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Safety;

/// <summary>iso extract does not alter what it did not create: an existing target directory keeps its mode and times.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class IsoExtractExistingDirectoryTests
{
    [Fact]
    public void Existing_target_and_subdirectory_keep_mode_and_times_while_new_ones_get_the_images()
    {
        using var dir = new TempDirectory();
        var builder = new IsoBuilder(new IsoBuildOptions { RockRidge = IsoRockRidgeMode.Exact, SourceDateEpoch = DateTimeOffset.FromUnixTimeSeconds(1700000000) });
        builder.AddDirectory("/", 0b101_101_101);
        builder.AddDirectory("/sub", 0b101_101_101);
        builder.AddDirectory("/fresh", 0b111_000_000);
        builder.AddFile("/sub/a.txt", "a"u8.ToArray());
        builder.AddFile("/fresh/b.txt", "b"u8.ToArray());
        builder.AddFile("/top.txt", "t"u8.ToArray());
        builder.Build(dir.File("in.iso"));

        var target = Directory.CreateDirectory(dir.File("target")).FullName;
        var sub = Directory.CreateDirectory(Path.Combine(target, "sub")).FullName;
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
        var when = new DateTime(2020, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        foreach (var path in new[] { sub, target })
        {
            File.SetUnixFileMode(path, mode);
            Directory.SetLastWriteTimeUtc(path, when);
            Directory.SetLastAccessTimeUtc(path, when);
        }

        using (var iso = IsoFileSystem.Open(dir.File("in.iso")))
        {
            IsoExtractor.Extract(iso, new IsoExtractOptions { TargetDirectory = target });
        }

        foreach (var path in new[] { target, sub })
        {
            Assert.Equal(mode, File.GetUnixFileMode(path));
            Assert.Equal(when, Directory.GetLastWriteTimeUtc(path));
            Assert.Equal(when, Directory.GetLastAccessTimeUtc(path));
        }

        // A directory the extraction created gets the image's mode and time.
        var fresh = Path.Combine(target, "fresh");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(fresh));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000).UtcDateTime, Directory.GetLastWriteTimeUtc(fresh));
        Assert.Equal("a", File.ReadAllText(Path.Combine(sub, "a.txt")));

        // The next extraction into the same directory still works (it used to fail on a read-only target).
        using var again = IsoFileSystem.Open(dir.File("in.iso"));
        IsoExtractor.Extract(again, new IsoExtractOptions { TargetDirectory = dir.File("target") });
        Assert.Equal(mode, File.GetUnixFileMode(target));
    }
}
