using DiskImage.IO;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Safety;

/// <summary>Two spellings name the same file exactly when their identities are equal.</summary>
public class FileIdentityTests
{
    [Fact]
    public void Every_spelling_of_one_file_has_its_identity_and_another_file_does_not()
    {
        using var dir = new TempDirectory();
        var file = dir.File("disk.img");
        var other = dir.File("other.img");
        File.WriteAllBytes(file, [1, 2, 3]);
        File.WriteAllBytes(other, [1, 2, 3]);
        File.CreateSymbolicLink(dir.File("link.img"), "disk.img");
        File.CreateSymbolicLink(dir.File("link-to-link.img"), dir.File("link.img"));
        using var handle = File.OpenHandle(file);

        var identity = FileIdentity.Of(file);
        Assert.NotNull(identity);
        Assert.Equal(FileKind.Regular, identity.Value.Kind);
        Assert.Equal(identity, FileIdentity.Of(Path.Combine(dir.Path, ".", "disk.img")));
        Assert.Equal(identity, FileIdentity.Of(Path.Combine(dir.Path, "..", Path.GetFileName(dir.Path), "disk.img")));
        Assert.Equal(identity, FileIdentity.Of(dir.File("link.img")));
        Assert.Equal(identity, FileIdentity.Of(dir.File("link-to-link.img")));
        Assert.Equal(identity, FileIdentity.Of($"/proc/self/fd/{handle.DangerousGetHandle()}"));
        Assert.Equal(identity, FileIdentity.Of("./" + Path.GetRelativePath(Environment.CurrentDirectory, file)));
        Assert.NotEqual(identity, FileIdentity.Of(other));
    }

    [Fact]
    public void Missing_files_have_no_identity_and_devices_are_told_apart()
    {
        using var dir = new TempDirectory();
        Assert.Null(FileIdentity.Of(dir.File("missing")));
        Assert.Null(FileIdentity.Of(""));
        File.CreateSymbolicLink(dir.File("dangling"), dir.File("missing"));
        Assert.Null(FileIdentity.Of(dir.File("dangling")));
        Assert.Equal(FileKind.CharacterDevice, FileIdentity.Of("/dev/null")!.Value.Kind);
        Assert.Equal(FileKind.Directory, FileIdentity.Of(dir.Path)!.Value.Kind);
    }

    [Fact]
    public void Overlap_names_the_input_that_is_the_output()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("a"), [1]);
        File.WriteAllBytes(dir.File("b"), [2]);
        File.CreateSymbolicLink(dir.File("link-to-b"), dir.File("b"));

        Assert.Equal(dir.File("b"), InputOverlap.FindOverlap(dir.File("link-to-b"), [dir.File("a"), dir.File("b")]));
        Assert.Null(InputOverlap.FindOverlap(dir.File("a-new"), [dir.File("a"), dir.File("b")]));
        Assert.Throws<SameFileException>(() => InputOverlap.EnsureDistinct(dir.File("link-to-b"), [dir.File("b")]));
        InputOverlap.EnsureDistinct(dir.File("a"), [dir.File("b")]);
    }
}
