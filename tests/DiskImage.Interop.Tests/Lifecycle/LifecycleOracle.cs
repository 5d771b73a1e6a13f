using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// Shared steps for lifecycle tests: a byte-array model of the guest disk kept beside the image,
/// writes applied to both (through qemu-io), and QEMU's check/compare as the judges.
/// </summary>
internal static class LifecycleOracle
{
    public const int MiB = 1 << 20;

    /// <summary>Writes a one-byte pattern with qemu-io and mirrors it in the model.</summary>
    public static void Write(string path, byte[] model, long offset, int length, byte pattern, string format = "qcow2")
    {
        var output = ExternalTool.QemuIo("-f", format, "-c",
            string.Create(CultureInfo.InvariantCulture, $"write -P {pattern} {offset} {length}"), path);
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
        model.AsSpan((int)offset, length).Fill(pattern);
    }

    /// <summary>qemu-img check must find no errors and no leaks.</summary>
    public static void AssertClean(string path)
    {
        var result = ExternalTool.Run("qemu-img", "check", "-f", "qcow2", path);
        Assert.True(result.ExitCode == 0, $"qemu-img check exited {result.ExitCode}: {result.StdOut}{result.StdErr}");
        Assert.Contains("No errors were found on the image.", result.StdOut, StringComparison.Ordinal);
    }

    /// <summary>The virtual size must equal the model's and qemu-img compare must find the image's guest content equal to the model.</summary>
    public static void AssertContent(string path, byte[] model, string format = "qcow2", string? snapshot = null)
    {
        var modelPath = path + ".model.raw";
        File.WriteAllBytes(modelPath, model);
        try
        {
            var source = path;
            var sourceFormat = format;
            if (snapshot is not null)
            {
                source = path + ".snapshot.raw";
                ExternalTool.QemuImg("convert", "-f", format, "-l", snapshot, "-O", "raw", path, source);
                sourceFormat = "raw";
            }

            Assert.Equal(model.LongLength, VirtualSize(source));
            var result = ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", sourceFormat, modelPath, source);
            Assert.True(result.ExitCode == 0, $"qemu-img compare exited {result.ExitCode}: {result.StdOut}{result.StdErr}");
        }
        finally
        {
            File.Delete(modelPath);
            File.Delete(path + ".snapshot.raw");
        }
    }

    /// <summary>The virtual size qemu-img info reports.</summary>
    public static long VirtualSize(string path)
    {
        var json = ExternalTool.QemuImg("info", "--output=json", path);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement.GetProperty("virtual-size").GetInt64();
    }
}
