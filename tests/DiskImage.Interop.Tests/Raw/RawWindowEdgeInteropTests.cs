using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Raw;

/// <summary>
/// The raw driver's <c>offset</c>/<c>size</c> window at its edges (iotest 171's ground): a window with only an offset
/// is the rest of the file rounded up to whole sectors, as qemu sees it, and a window of fixed size refuses every
/// resize, even to its own size. qemu-io/qemu-img 7.2 and diskimg run the same command lines on identical files;
/// output, exit code and the files must match.
/// </summary>
public class RawWindowEdgeInteropTests
{
    public static TheoryData<string, string[]> IoCases => new()
    {
        // 4096-byte file, offset 10: qemu sees 4096 bytes, the last 10 past the file read as zeros.
        { "\"offset\": \"10\"", ["length", "read -P 0 4080 16", "read -v 4086 10", "read 4096 1"] },
        { "\"offset\": \"512\", \"size\": \"512\"", ["length", "truncate 512", "truncate 1024", "write -P 3 511 1", "write 512 1"] },
        { "\"offset\": \"10\", \"size\": \"2048\"", ["write -z 2047 1", "write -z 2047 2", "discard 1536 512", "read -P 0 2047 1"] },
    };

    [Theory]
    [MemberData(nameof(IoCases))]
    public void Qemu_io_through_a_raw_window_matches(string window, string[] commands)
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string File)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var file = dir.File(side + ".raw");
            File.WriteAllBytes(file, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
            string[] arguments = [.. commands.SelectMany(c => new[] { "-c", c }), Name(window, file)];
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-io", arguments) : Diskimg.Run(["io", .. arguments]), file));
        }

        Assert.Equal(QemuToolOutput.Normalise(results[0].Result.StdOut, results[0].File), QemuToolOutput.Normalise(results[1].Result.StdOut, results[1].File));
        Assert.Equal(QemuToolOutput.Normalise(results[0].Result.StdErr, results[0].File), QemuToolOutput.Normalise(results[1].Result.StdErr, results[1].File));
        Assert.Equal(results[0].Result.ExitCode, results[1].Result.ExitCode);
        Assert.Equal(File.ReadAllBytes(results[0].File), File.ReadAllBytes(results[1].File));
    }

    [Theory]
    [InlineData("\"offset\": \"512\", \"size\": \"512\"", "512")]
    [InlineData("\"offset\": \"512\", \"size\": \"512\"", "1024")]
    [InlineData("\"offset\": \"10\"", "8192")]
    public void Resize_and_info_through_a_raw_window_match_qemu_img(string window, string size)
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Resize, ExternalTool.Result Info, string File)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var file = dir.File(side + ".raw");
            File.WriteAllBytes(file, new byte[4096]);
            var name = Name(window, file);
            var info = side == "theirs" ? ExternalTool.Run("qemu-img", "info", name) : Diskimg.Run("info", name);
            var resize = side == "theirs" ? ExternalTool.Run("qemu-img", "resize", name, size) : Diskimg.Run("resize", name, size);
            results.Add((resize, info, file));
        }

        Assert.Equal(WithoutDiskSize(results[0].Info.StdOut.Replace(results[0].File, "IMG", StringComparison.Ordinal)),
            WithoutDiskSize(results[1].Info.StdOut.Replace(results[1].File, "IMG", StringComparison.Ordinal)));
        Assert.Equal(QemuToolOutput.Normalise(results[0].Resize.StdOut), QemuToolOutput.Normalise(results[1].Resize.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(results[0].Resize.StdErr, results[0].File), QemuToolOutput.Normalise(results[1].Resize.StdErr, results[1].File));
        Assert.Equal(results[0].Resize.ExitCode, results[1].Resize.ExitCode);
        Assert.Equal(new FileInfo(results[0].File).Length, new FileInfo(results[1].File).Length);
    }

    private static string Name(string window, string file) =>
        $"json:{{\"driver\": \"raw\", {window}, \"file\": {{\"driver\": \"file\", \"filename\": \"{file}\"}}}}";

    private static string WithoutDiskSize(string info) =>
        string.Join('\n', info.Split('\n').Where(l => !l.StartsWith("disk size:", StringComparison.Ordinal)));
}
