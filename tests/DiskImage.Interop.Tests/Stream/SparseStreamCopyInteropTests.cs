using System.Diagnostics;
using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;
using DiskImage.IO;
using Xunit.Abstractions;

namespace DiskImage.Interop.Tests.Stream;

/// <summary>
/// <c>image.AsStream().CopyToAsync(file)</c> of a thin 100 GiB qcow2 must give the bytes
/// <c>qemu-img convert -O raw</c> gives, as a sparse file holding only the allocated data.
/// </summary>
public class SparseStreamCopyInteropTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_thin_100_GiB_qcow2_copies_through_the_stream_into_a_sparse_file_equal_to_qemu_img_convert()
    {
        using var dir = new TempDirectory();
        var source = dir.File("thin.qcow2");
        Qcow2Oracle.Create(source, "100G");
        // 16 MiB of data scattered over the disk, unaligned, one run crossing a cluster, one at the very end.
        var writes = new List<string>();
        for (var i = 0; i < 15; i++)
        {
            writes.Add($"write -P {i + 1} {(i * 6L + 1) << 30} 1M");
        }

        writes.Add("write -P 99 12345 70000");
        writes.Add($"write -P 77 {(100L << 30) - (1 << 20)} 1M");
        Qcow2Oracle.Io(source, [.. writes]);

        var ours = dir.File("ours.raw");
        var watch = Stopwatch.StartNew();
        using (var image = ImageFormatRegistry.Default.Open(source, "qcow2"))
        await using (var file = new FileStream(ours, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        await using (var stream = image.AsStream())
        {
            await stream.CopyToAsync(file);
        }

        watch.Stop();
        output.WriteLine($"CopyToAsync of the thin 100 GiB qcow2: {watch.Elapsed.TotalMilliseconds:F0} ms");

        var reference = dir.File("qemu.raw");
        ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "raw", source, reference);
        Assert.Equal(new FileInfo(reference).Length, new FileInfo(ours).Length);
        // cmp over 2 x 100 GiB of holes takes minutes: holes read as zeroes in both files, so cmp compares every
        // range that is data in either file (found with SEEK_DATA/SEEK_HOLE), which covers every byte that can differ.
        var ranges = DataRanges(ours).Concat(DataRanges(reference)).OrderBy(r => r.Offset).ToList();
        Assert.NotEmpty(ranges);
        foreach (var (offset, length) in ranges)
        {
            var at = offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var cmp = ExternalTool.Run("cmp", "-i", $"{at}:{at}", "-n", length.ToString(System.Globalization.CultureInfo.InvariantCulture), ours, reference);
            Assert.True(cmp.ExitCode == 0, $"cmp at {offset}+{length}: {cmp.StdOut}{cmp.StdErr}");
        }

        // Only the allocated data was written: 16 MiB + 70000 bytes, rounded to file-system blocks.
        var allocated = long.Parse(ExternalTool.Run("stat", "-c", "%b", ours).EnsureSuccess("stat").StdOut.Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
        output.WriteLine($"allocated in the copy: {allocated} bytes");
        Assert.InRange(allocated, 16L << 20, (16L << 20) + (1 << 20));
    }

    private static List<(long Offset, long Length)> DataRanges(string path)
    {
        using var file = HostFile.Open(path, writable: false);
        return file.GetExtents(0, file.Length).Where(e => e.Kind == ExtentKind.Data).Select(e => (e.Offset, e.Length)).ToList();
    }
}
