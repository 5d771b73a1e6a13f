using DiskImage.IO;
using DiskImage.IO.Blkverify;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.IO;

/// <summary>
/// The blkverify node: writes reach both children, so random writes keep them equal and every read passes; a byte
/// changed in the raw copy alone fails the read that covers it, naming the request and the first differing offset.
/// </summary>
public class BlkverifyStorageTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_writes_keep_both_children_equal_and_reads_match_a_model(int seed)
    {
        using var dir = new TempDirectory();
        var random = new Random(seed);
        var model = new byte[64 * 1024];
        File.WriteAllBytes(dir.File("raw"), model);
        File.WriteAllBytes(dir.File("test"), model);
        using (var node = Open(dir))
        {
            for (var i = 0; i < 200; i++)
            {
                var offset = random.Next(model.Length);
                var length = random.Next(1, Math.Min(4096, model.Length - offset) + 1);
                if (random.Next(3) == 0)
                {
                    node.WriteZeroBytes(offset, length);
                    model.AsSpan(offset, length).Clear();
                }
                else
                {
                    var data = new byte[length];
                    random.NextBytes(data);
                    node.Write(offset, data);
                    data.CopyTo(model, offset);
                }

                var read = new byte[length];
                node.Read(offset, read);
                Assert.Equal(model.AsSpan(offset, length).ToArray(), read);
            }
        }

        Assert.Equal(model, File.ReadAllBytes(dir.File("raw")));
        Assert.Equal(model, File.ReadAllBytes(dir.File("test")));
    }

    [Fact]
    public void A_byte_that_differs_fails_the_read_that_covers_it()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("raw"), new byte[8192]);
        var test = new byte[8192];
        test[5000] = 1;
        File.WriteAllBytes(dir.File("test"), test);
        using var node = Open(dir);
        node.Read(0, new byte[4096]);
        // Not an I/O error a caller could recover from: QEMU ends the process with this line.
        var e = Assert.Throws<VerificationMismatchException>(() => node.Read(4096, new byte[4096]));
        Assert.Equal("blkverify: read offset=4096 bytes=4096 contents mismatch at offset 5000", e.Message);
        Assert.IsNotType<IOException>(e, exactMatch: false);
        Assert.Equal(dir.File("raw"), node.Raw.Path);
        Assert.Equal($"blkverify:{dir.File("raw")}:{dir.File("test")}", node.Path);
        Assert.Null(node.AllocatedSize);
    }

    private static BlkverifyStorage Open(TempDirectory dir) =>
        new(HostFile.Open(dir.File("raw"), writable: true), HostFile.Open(dir.File("test"), writable: true));
}
