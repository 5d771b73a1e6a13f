using DiskImage.IO;

namespace DiskImage.Tests.IO;

/// <summary><see cref="HostFile.CopyFrom"/>: the in-kernel copy convert uses from a source file into a raw target.</summary>
public class HostFileCopyFromTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hostfile-copy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Copies_the_range_byte_for_byte_into_a_longer_sparse_file()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var bytes = new byte[3 << 20];
        new Random(11).NextBytes(bytes);
        var sourcePath = Path.Combine(_dir, "source");
        File.WriteAllBytes(sourcePath, bytes);
        var targetPath = Path.Combine(_dir, "target");
        using (var source = HostFile.Open(sourcePath, writable: false))
        using (var target = HostFile.Create(targetPath))
        {
            target.SetLength(8 << 20);

            var copied = target.CopyFrom(source, 4096, 1 << 20, 2 << 20);

            Assert.Equal(2 << 20, copied);
        }

        var result = File.ReadAllBytes(targetPath);
        Assert.Equal(8 << 20, result.Length);
        Assert.True(result.AsSpan(1 << 20, 2 << 20).SequenceEqual(bytes.AsSpan(4096, 2 << 20)));
        Assert.Equal(-1, result.AsSpan(0, 1 << 20).IndexOfAnyExcept((byte)0));
        Assert.Equal(-1, result.AsSpan(3 << 20).IndexOfAnyExcept((byte)0));
    }

    [Fact]
    public void Stops_at_the_end_of_a_source_shortened_after_it_was_opened()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var bytes = new byte[1 << 20];
        new Random(12).NextBytes(bytes);
        var sourcePath = Path.Combine(_dir, "source");
        File.WriteAllBytes(sourcePath, bytes);
        using var source = HostFile.Open(sourcePath, writable: false);
        using (var other = File.Open(sourcePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            // Another process shortening the file: the copy must come back short, not fail or read past the end.
            other.SetLength(300_000);
        }

        using var target = HostFile.Create(Path.Combine(_dir, "target"));
        target.SetLength(1 << 20);

        var copied = target.CopyFrom(source, 0, 0, 1 << 20);

        Assert.Equal(300_000, copied);
        var head = new byte[300_000];
        target.Read(0, head);
        Assert.True(head.AsSpan().SequenceEqual(bytes.AsSpan(0, 300_000)));
    }
}
