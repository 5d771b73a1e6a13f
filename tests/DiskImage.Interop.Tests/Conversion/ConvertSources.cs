using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Conversion;

/// <summary>Source images made by qemu-img and qemu-io, each a few MiB, covering what convert must read.</summary>
public static class ConvertSources
{
    public const long Size = 6 << 20;

    /// <summary>Every variant's name, for theories.</summary>
    public static TheoryData<string> Names => new()
    {
        "raw-holes", "qcow2-512", "qcow2-4k", "qcow2-64k", "qcow2-2M", "qcow2-zlib", "qcow2-zstd",
        "qcow2-v2", "qcow2-extended-l2", "chain", "overlay-larger",
    };

    /// <summary>Builds the named variant in <paramref name="dir"/>; returns its path and format.</summary>
    public static (string Path, string Format) Make(TempDirectory dir, string name)
    {
        switch (name)
        {
            case "raw-holes":
            {
                var path = dir.File("src.raw");
                ExternalTool.QemuImg("create", "-q", "-f", "raw", path, Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Io(path, "raw", Writes(Size));
                return (path, "raw");
            }

            case "qcow2-512":
                return Qcow2(dir, "cluster_size=512");
            case "qcow2-4k":
                return Qcow2(dir, "cluster_size=4k");
            case "qcow2-64k":
                return Qcow2(dir, "cluster_size=64k");
            case "qcow2-2M":
                return Qcow2(dir, "cluster_size=2M");
            case "qcow2-v2":
                return Qcow2(dir, "compat=0.10");
            case "qcow2-extended-l2":
                return Qcow2(dir, "extended_l2=on,cluster_size=128k");
            case "qcow2-zlib":
            case "qcow2-zstd":
            {
                var (plain, _) = Qcow2(dir, "cluster_size=64k");
                var path = dir.File("compressed.qcow2");
                ExternalTool.QemuImg("convert", "-q", "-c", "-f", "qcow2", "-O", "qcow2", "-o", "compression_type=" + name[6..], plain, path);
                return (path, "qcow2");
            }

            case "chain":
            {
                var bottom = dir.File("base.raw");
                ExternalTool.QemuImg("create", "-q", "-f", "raw", bottom, "6M");
                Io(bottom, "raw", "write -P 0x61 0 2M", "write -P 0x62 3M 1M");
                var middle = dir.File("middle.qcow2");
                ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", middle);
                Io(middle, "qcow2", "write -P 0x71 1M 64k", "write -z 3M 128k", "write -P 0x72 5M 4k");
                var top = dir.File("top.qcow2");
                ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", "-b", "middle.qcow2", "-F", "qcow2", top);
                Io(top, "qcow2", "write -P 0x81 1M 1k", "write -z 0 64k", "discard 5M 64k", "write -P 0x82 3211264 4k");
                return (top, "qcow2");
            }

            case "overlay-larger":
            {
                var bottom = dir.File("small.qcow2");
                ExternalTool.QemuImg("create", "-q", "-f", "qcow2", bottom, "2M");
                Io(bottom, "qcow2", "write -P 0x91 0 2M");
                var top = dir.File("large.qcow2");
                ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "small.qcow2", "-F", "qcow2", top, "5M");
                Io(top, "qcow2", "write -P 0x92 4M 64k");
                return (top, "qcow2");
            }

            default:
                throw new ArgumentException($"Unknown source variant '{name}'", nameof(name));
        }
    }

    /// <summary>Unaligned writes, a zero run inside data, and a write at the very end.</summary>
    public static string[] Writes(long size) =>
    [
        "write -P 0x11 0 4k",
        "write -P 0x22 5000 70000",
        "write -P 0x00 1M 256k",
        $"write -P 0x33 {size / 3} 300k",
        $"write -P 0x44 {(size / 2) + 123} 1000",
        $"write -P 0x55 {size - 66048} 66048",
    ];

    private static (string Path, string Format) Qcow2(TempDirectory dir, string options)
    {
        var path = dir.File("src.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", options, path, Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Io(path, "qcow2", [.. Writes(Size), $"write -z {Size / 3 + 4096} 8k"]);
        return (path, "qcow2");
    }

    public static void Io(string path, string format, params string[] commands)
    {
        var arguments = new List<string> { "-f", format };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(path);
        var output = ExternalTool.QemuIo([.. arguments]);
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
    }
}
