using System.Buffers.Binary;
using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Check;

/// <summary>
/// <c>check -r leaks</c> and <c>check -r all</c> on randomly damaged qcow2 images (leaked clusters with and without
/// data, refcounts too high, too low or zero, a zeroed refcount block), run by qemu-img and by diskimg on identical
/// copies: the report, the exit code, the repaired file's bytes and its allocated size must be the same (a freed
/// leaked cluster is punched out, and a rebuilt structure fills no holes of the header cluster).
/// </summary>
public class RepairLayoutInteropTests
{
    [Theory]
    [InlineData(1, "leaks")]
    [InlineData(2, "all")]
    [InlineData(3, "all")]
    [InlineData(4, "leaks")]
    [InlineData(5, "all")]
    [InlineData(6, "all")]
    public void Repaired_file_is_qemu_imgs(int seed, string mode)
    {
        var random = new Random(seed);
        using var dir = new TempDirectory();
        var image = dir.File("d.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + (random.Next(2) == 0 ? "64k" : "4k"), image, "32M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", $"write -P 1 0 {random.Next(1, 4)}M", "-c", "write -P 2 5M 300k", "-c", "write -P 3 20M 64k", image);
        var damage = Damage(image, random, seed % 4);

        var theirs = Repair("qemu-img", dir, mode, run => ExternalTool.Run("qemu-img", run));
        var ours = Repair("diskimg", dir, mode, Diskimg.Run);

        Assert.Equal(theirs.Output, ours.Output);
        Assert.True(theirs.Output.Contains("repaired", StringComparison.Ordinal) || theirs.Output.Contains("Rebuilding", StringComparison.Ordinal), damage + ": " + theirs.Output);
        Assert.True(theirs.Bytes.AsSpan().SequenceEqual(ours.Bytes), damage + ": the repaired files differ");
        Assert.Equal(theirs.ActualSize, ours.ActualSize);
    }

    /// <summary>Pokes one kind of damage into the first refcount block; says which.</summary>
    private static string Damage(string image, Random random, int kind)
    {
        using var file = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        Span<byte> header = stackalloc byte[64];
        file.ReadExactly(header);
        var clusterSize = 1 << (int)BinaryPrimitives.ReadUInt32BigEndian(header[20..]);
        var tableOffset = (long)BinaryPrimitives.ReadUInt64BigEndian(header[48..]);
        Span<byte> entry = stackalloc byte[8];
        file.Position = tableOffset;
        file.ReadExactly(entry);
        var block = (long)BinaryPrimitives.ReadUInt64BigEndian(entry);
        var clusters = file.Length / clusterSize;
        var blockEntries = clusterSize / 2;

        ushort Get(long cluster)
        {
            Span<byte> value = stackalloc byte[2];
            file.Position = block + (cluster * 2);
            file.ReadExactly(value);
            return BinaryPrimitives.ReadUInt16BigEndian(value);
        }

        void Set(long cluster, int value)
        {
            Span<byte> bytes = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value);
            file.Position = block + (cluster * 2);
            file.Write(bytes);
        }

        var used = Enumerable.Range(4, (int)Math.Min(clusters, blockEntries) - 4).Where(c => Get(c) != 0).ToList();
        switch (kind)
        {
            case 0:
                // Leaks past the end, some with data written there.
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    var cluster = clusters + random.Next(0, 6);
                    Set(cluster, 1);
                    if (random.Next(3) > 0)
                    {
                        file.Position = cluster * clusterSize;
                        file.Write(Enumerable.Repeat((byte)random.Next(1, 256), clusterSize).ToArray());
                    }
                }

                return "leaks";
            case 1:
                foreach (var cluster in used.OrderBy(_ => random.Next()).Take(2))
                {
                    Set(cluster, Get(cluster) + 1);
                }

                return "refcounts too high";
            case 2:
                foreach (var cluster in used.OrderBy(_ => random.Next()).Take(2))
                {
                    Set(cluster, random.Next(2) == 0 ? 0 : Get(cluster) - 1);
                }

                return "refcounts too low";
            default:
                file.Position = block;
                file.Write(new byte[clusterSize]);
                return "zeroed refcount block";
        }
    }

    /// <summary>Repairs a copy of the image in its own directory: the printed lines, the file's bytes and its allocated size.</summary>
    private static (string Output, byte[] Bytes, long ActualSize) Repair(string program, TempDirectory source, string mode, Func<string[], ExternalTool.Result> run)
    {
        using var dir = new TempDirectory();
        var copy = dir.File("d.qcow2");
        // A byte copy (holes filled): both tools start from the same allocation.
        File.Copy(source.File("d.qcow2"), copy);
        var result = run(["check", "-r", mode, copy]);
        var output = $"{result.ExitCode}\n{result.StdOut}\n{result.StdErr}"
            .Replace(dir.Path, "DIR", StringComparison.Ordinal)
            .Replace($"{program}: ", "PROG: ", StringComparison.Ordinal);
        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", "-U", copy));
        return (output, File.ReadAllBytes(copy), info.RootElement.GetProperty("actual-size").GetInt64());
    }
}
