using System.Security.Cryptography;
using System.Text.Json;
using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>Shared steps for qcow2 interop tests: make images with qemu tools, read them with the library, let QEMU judge.</summary>
internal static class Qcow2Oracle
{
    public static void Create(string path, string size, string options = "")
    {
        var arguments = new List<string> { "create", "-q", "-f", "qcow2" };
        if (options.Length > 0)
        {
            arguments.Add("-o");
            arguments.Add(options);
        }

        arguments.Add(path);
        arguments.Add(size);
        ExternalTool.QemuImg([.. arguments]);
    }

    /// <summary>Runs qemu-io commands against a qcow2 image.</summary>
    public static void Io(string path, params string[] commands)
    {
        var arguments = new List<string> { "-f", "qcow2" };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(path);
        var output = ExternalTool.QemuIo([.. arguments]);
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Patterns scattered over an image of <paramref name="size"/> bytes: unaligned, cluster-crossing, at the end.</summary>
    public static string[] ScatteredWrites(long size) =>
    [
        "write -P 0x11 0 4k",
        "write -P 0x22 5000 70000",
        $"write -P 0x33 {size / 3} 300k",
        $"write -P 0x44 {(size / 2) + 123} 1000",
        $"write -P 0x55 {size - 65536 - 512} 66048",
        $"write -z {size / 3 + 4096} 8k",
    ];

    /// <summary>The guest content as QEMU sees it (qemu-img convert -O raw).</summary>
    public static byte[] QemuContent(string path, string format = "qcow2")
    {
        var raw = path + ".expected.raw";
        ExternalTool.QemuImg("convert", "-f", format, "-O", "raw", path, raw);
        var bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    /// <summary>The guest content as the library reads it, in odd-sized chunks to exercise unaligned reads.</summary>
    public static byte[] OurContent(string path, string? format = "qcow2")
    {
        using var image = ImageFormatRegistry.Default.Open(path, format);
        var result = new byte[image.Length];
        var chunk = 192 * 1024 + 512;
        for (long offset = 0; offset < image.Length; offset += chunk)
        {
            var length = (int)Math.Min(chunk, image.Length - offset);
            image.Read(offset, result.AsSpan((int)offset, length));
        }

        return result;
    }

    public static void AssertSameContent(string path)
    {
        var expected = QemuContent(path);
        var actual = OurContent(path);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(SHA256.HashData(expected).AsSpan().SequenceEqual(SHA256.HashData(actual)), $"content of {Path.GetFileName(path)} differs from qemu-img convert");
    }

    /// <summary>qemu-img check must find no errors and no leaks.</summary>
    public static void AssertCheckClean(string path)
    {
        var result = ExternalTool.Run("qemu-img", "check", "--output=json", path);
        Assert.True(result.ExitCode == 0, $"qemu-img check exit {result.ExitCode}: {result.StdOut}{result.StdErr}");
        using var json = JsonDocument.Parse(result.StdOut);
        foreach (var key in new[] { "corruptions", "leaks", "check-errors" })
        {
            Assert.False(json.RootElement.TryGetProperty(key, out var value) && value.GetInt64() != 0, $"{key} in {result.StdOut}");
        }
    }

    /// <summary>qemu-img compare against a raw file with the expected bytes must report identical images.</summary>
    public static void AssertQemuCompareEqual(string path, byte[] expected)
    {
        var raw = path + ".model.raw";
        File.WriteAllBytes(raw, expected);
        var result = ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw, path);
        File.Delete(raw);
        Assert.True(result.ExitCode == 0, $"qemu-img compare: {result.StdOut}{result.StdErr}");
    }

    public static JsonDocument QemuInfo(string path) =>
        JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", path));

    /// <summary>The key fields of qemu-img info must equal what GetInfo reports.</summary>
    public static void AssertInfoMatches(string path)
    {
        using var json = QemuInfo(path);
        var root = json.RootElement;
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { OpenBackingChain = false });
        var info = image.GetInfo();
        Assert.Equal(root.GetProperty("virtual-size").GetInt64(), info.VirtualSize);
        Assert.Equal(root.GetProperty("cluster-size").GetInt32(), info.ClusterSize);
        Assert.Equal(root.GetProperty("dirty-flag").GetBoolean(), info.DirtyFlag);
        Assert.Equal(root.TryGetProperty("encrypted", out var encrypted) && encrypted.GetBoolean(), info.Encrypted);
        Assert.Equal(Text(root, "backing-filename"), info.BackingFilename);
        Assert.Equal(Text(root, "full-backing-filename"), info.FullBackingFilename);
        Assert.Equal(Text(root, "backing-filename-format"), info.BackingFilenameFormat);
        var data = root.GetProperty("format-specific").GetProperty("data");
        var specific = Assert.IsType<DiskImage.Formats.Qcow2.Qcow2SpecificInfo>(info.FormatSpecific);
        Assert.Equal(data.GetProperty("compat").GetString(), specific.Compat);
        Assert.Equal(data.GetProperty("compression-type").GetString(), specific.CompressionType);
        Assert.Equal(data.GetProperty("refcount-bits").GetInt32(), specific.RefcountBits);
        Assert.Equal(Flag(data, "lazy-refcounts"), specific.LazyRefcounts);
        Assert.Equal(Flag(data, "corrupt"), specific.Corrupt);
        Assert.Equal(Flag(data, "extended-l2"), specific.ExtendedL2);
        var snapshots = root.TryGetProperty("snapshots", out var list) ? list.EnumerateArray().ToList() : [];
        Assert.Equal(snapshots.Count, info.Snapshots.Count);
        for (var i = 0; i < snapshots.Count; i++)
        {
            var expected = snapshots[i];
            var actual = info.Snapshots[i];
            Assert.Equal(expected.GetProperty("id").GetString(), actual.Id);
            Assert.Equal(expected.GetProperty("name").GetString(), actual.Name);
            Assert.Equal(expected.GetProperty("vm-state-size").GetInt64(), actual.VmStateSize);
            Assert.Equal(expected.GetProperty("date-sec").GetInt64(), actual.DateSeconds);
            Assert.Equal(expected.GetProperty("date-nsec").GetInt64(), actual.DateNanoseconds);
            Assert.Equal((expected.GetProperty("vm-clock-sec").GetInt64() * 1_000_000_000) + expected.GetProperty("vm-clock-nsec").GetInt64(), actual.VmClockNanoseconds);
            Assert.Equal(expected.TryGetProperty("icount", out var icount) ? icount.GetUInt64() : null, actual.Icount);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static bool? Flag(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetBoolean() : null;
}
