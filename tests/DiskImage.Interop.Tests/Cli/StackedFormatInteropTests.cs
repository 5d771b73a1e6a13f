using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// A format on top of another format node, as QEMU stacks them from a <c>json:</c> name, <c>--image-opts</c> or
/// qemu-io's <c>open -o</c>: qcow2 inside a raw window (<c>file.driver=raw</c> with <c>offset</c>), and qcow2 whose
/// file is another qcow2 image's guest data (iotests 072 and 089). qemu-img/qemu-io 7.2 judge the same files.
/// </summary>
public class StackedFormatInteropTests
{
    /// <summary>Where the qcow2 image starts inside its container file.</summary>
    private const int QcowOffset = 65536;

    [Fact]
    public void Qcow2_inside_a_raw_window_shows_and_reads_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var (container, qcowLength) = MakeContainer(dir);
        var json = "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"raw\",\"offset\":" + QcowOffset + ",\"file\":{\"filename\":\"" + container + "\"}}}";
        var dotted = $"driver=qcow2,file.driver=raw,file.offset={QcowOffset},file.size={qcowLength},file.file.filename={container}";
        AssertSameImg(["info", json]);
        AssertSameImg(["info", "--output=json", json]);
        AssertSameImg(["info", "--image-opts", dotted]);
        AssertSameImg(["info", "--output=json", "--image-opts", dotted]);

        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");
        ExternalTool.QemuImg("convert", "-O", "raw", json, theirs);
        Diskimg.Ok("convert", "--image-opts", dotted, "-O", "raw", ours);
        var bytes = File.ReadAllBytes(ours);
        Assert.Equal(File.ReadAllBytes(theirs), bytes);
        // The patterns qemu-io wrote into the embedded image, so reading the container itself would differ.
        Assert.Equal(0x5a, bytes[0]);
        Assert.Equal(0x5a, bytes[65535]);
        Assert.Equal(0, bytes[65536]);
        AssertSameImg(["compare", json, theirs]);
    }

    [Fact]
    public void Writes_through_a_growable_window_leave_the_bytes_qemu_io_leaves()
    {
        using var dir = new TempDirectory();
        var (container, _) = MakeContainer(dir);
        var copy = dir.File("copy.img");
        File.Copy(container, copy);
        string Name(string file) => "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"raw\",\"offset\":" + QcowOffset + ",\"file\":{\"filename\":\"" + file + "\"}}}";

        // The write allocates clusters past the embedded image's end: the window, without a size, grows the file.
        ExternalTool.QemuIo("-c", "write -P 0x77 512k 128k", Name(copy));
        Diskimg.Ok("io", "-c", "write -P 0x77 512k 128k", Name(container));
        Assert.Equal(File.ReadAllBytes(copy), File.ReadAllBytes(container));
        var check = ExternalTool.Run("qemu-img", "check", Name(container));
        Assert.Equal(ExternalTool.Run("qemu-img", "check", Name(copy)).StdOut, check.StdOut);
        Assert.Contains("read 131072/131072", ExternalTool.QemuIo("-c", "read -P 0x77 512k 128k", Name(container)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_write_past_a_window_of_fixed_size_fails_as_in_qemu_io()
    {
        using var dir = new TempDirectory();
        var (container, qcowLength) = MakeContainer(dir);
        var name = "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"raw\",\"offset\":" + QcowOffset + ",\"size\":" + qcowLength + ",\"file\":{\"filename\":\"" + container + "\"}}}";
        var copy = dir.File("copy.img");
        File.Copy(container, copy);
        var theirs = ExternalTool.Run("qemu-io", "-c", "write -P 0x77 512k 128k", name.Replace(container, copy, StringComparison.Ordinal));
        var ours = Diskimg.Run("io", "-c", "write -P 0x77 512k 128k", name);
        Assert.Equal("write failed: No space left on device\n", theirs.StdOut);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", name).ExitCode);
        Assert.Equal(new FileInfo(copy).Length, new FileInfo(container).Length);
    }

    [Theory]
    [InlineData("write -P 0x77 512k 128k", false)] // whole new clusters
    [InlineData("write -P 0x77 512k 4k", false)]   // part of a new cluster
    [InlineData("write -P 0x77 512k 64k", true)]   // one whole cluster, named through --image-opts
    public void A_write_failing_past_a_window_of_fixed_size_leaves_the_bytes_qemu_io_leaves(string command, bool imageOpts)
    {
        using var dir = new TempDirectory();
        var (container, qcowLength) = MakeContainer(dir);
        var copy = dir.File("copy.img");
        File.Copy(container, copy);
        var before = File.ReadAllBytes(container);
        string Json(string file) =>
            "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"raw\",\"offset\":" + QcowOffset + ",\"size\":" + qcowLength + ",\"file\":{\"driver\":\"file\",\"filename\":\"" + file + "\"}}}";
        var dotted = $"driver=qcow2,file.driver=raw,file.offset={QcowOffset},file.size={qcowLength},file.file.driver=file,file.file.filename={container}";

        var theirs = ExternalTool.Run("qemu-io", "-c", command, Json(copy));
        var ours = imageOpts ? Diskimg.Run("io", "--image-opts", "-c", command, dotted) : Diskimg.Run("io", "-c", command, Json(container));
        Assert.Equal("write failed: No space left on device\n", theirs.StdOut);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);

        // The clusters taken for the data lie past the window: their refcounts must be given back, as QEMU does.
        var after = File.ReadAllBytes(container);
        Assert.Equal(File.ReadAllBytes(copy), after);
        Assert.Equal(before, after);
        Assert.Equal(ExternalTool.Run("qemu-img", "check", Json(copy)).StdOut, ExternalTool.Run("qemu-img", "check", Json(container)).StdOut);
    }

    [Fact]
    public void Qcow2_whose_file_is_another_qcow2_opens_through_open_options()
    {
        using var dir = new TempDirectory();
        var inner = dir.File("inner.qcow2");
        var embedded = dir.File("embedded.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", embedded, "1M");
        ExternalTool.QemuIo("-c", "write -P 0x42 0 512", "-c", "write -P 0x23 512 512", embedded);
        ExternalTool.QemuImg("create", "-f", "qcow2", inner, "4M");
        // The outer image's bytes become the inner image's guest data, as iotest 072 builds it.
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", "-n", embedded, inner);

        var open = $"open -o driver=qcow2,file.driver=qcow2,file.file.filename={inner}";
        string[] commands = ["-c", open, "-c", "read -P 0x42 0 512", "-c", "read -P 0x23 512 512", "-c", "read -P 0 1024 512"];
        var theirs = ExternalTool.Run("qemu-io", commands);
        var ours = Diskimg.Run(["io", .. commands]);
        Assert.Equal(3, ours.StdOut.Split('\n').Count(l => l.StartsWith("read 512/512", StringComparison.Ordinal)));
        Assert.Equal(Reads(theirs.StdOut), Reads(ours.StdOut));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);

        var json = "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"qcow2\",\"file\":{\"filename\":\"" + inner + "\"}}}";
        AssertSameImg(["info", json]);
        AssertSameImg(["compare", json, embedded]);
    }

    /// <summary>A container file: 64 KiB of zeros, then a qcow2 image whose first 64 KiB of guest data are 0x5a.</summary>
    private static (string Container, long QcowLength) MakeContainer(TempDirectory dir)
    {
        var qcow2 = dir.File("embedded.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", qcow2, "1M");
        ExternalTool.QemuIo("-c", "write -P 0x5a 0 64k", qcow2);
        var image = File.ReadAllBytes(qcow2);
        var container = dir.File("container.img");
        using (var stream = File.Create(container))
        {
            stream.Write(new byte[QcowOffset]);
            stream.Write(image);
        }

        return (container, image.Length);
    }

    /// <summary>The outcome lines of qemu-io's output, without timing.</summary>
    private static string[] Reads(string output) =>
        [.. output.Split('\n').Where(l => l.Length > 0 && !l.Contains("ops;", StringComparison.Ordinal))];

    private static void AssertSameImg(string[] arguments)
    {
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var ours = Diskimg.Run(arguments);
        var what = string.Join(' ', arguments);
        Assert.True(theirs.StdOut == ours.StdOut, $"{what}\nqemu-img: {theirs.StdOut}\ndiskimg:  {ours.StdOut}");
        Assert.Equal(theirs.StdErr, ours.StdErr.Replace("diskimg:", "qemu-img:", StringComparison.Ordinal));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
