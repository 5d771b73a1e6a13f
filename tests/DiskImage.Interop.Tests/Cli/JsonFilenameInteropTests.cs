using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// <c>json:{...}</c> file names and the <c>--image-opts</c> form, judged by qemu-img 7.2 on the same files:
/// stdout, stderr (program name normalised) and exit code must be qemu-img's.
/// </summary>
public class JsonFilenameInteropTests
{
    /// <summary>Names with <c>RAW</c> and <c>QCOW2</c> standing for the test images' full paths.</summary>
    public static TheoryData<string> JsonNames => new()
    {
        """json:{"driver":"raw","offset":512,"size":1048576,"file":{"driver":"file","filename":"RAW"}}""",
        """json:{"driver":"raw","file.filename":"RAW","offset":"1024"}""",
        """json:{"driver":"raw","offset":"1k","file":{"filename":"RAW"}}""",
        """json:{"driver":"raw","offset":4194304,"file":{"filename":"RAW"}}""",
        """json:{"driver":"qcow2","file":{"driver":"file","filename":"QCOW2"}}""",
        """json:{"file":{"driver":"file","filename":"QCOW2"}}""",
        """json:{'driver':'raw','file':{'filename':'RAW'}}""",
        """json:{"driver":"qcow2","backing":null,"file":{"filename":"QCOW2"}}""",
        """json:{"driver":"qcow2","force-share":true,"file":{"filename":"QCOW2"}}""",
        """json:{"driver":"qcow2","file":{"filename":"QCOW2","locking":"off"}}""",
        // Errors.
        "json:{\"driver\":\"raw\"",
        """json:""",
        """json:[1]""",
        """json:{}""",
        """json:{"a":x}""",
        """json:{"a":1,}""",
        """json:{"a" 1}""",
        """json:{"driver":"raw","file":{"filename":"RAW"}} x""",
        """json:{"filename":"RAW"}""",
        """json:{"driver":"raw","bogus":1,"file":{"filename":"RAW"}}""",
        """json:{"driver":"nope","file":{"filename":"RAW"}}""",
        """json:{"driver":"raw","file":"RAW"}""",
        """json:{"driver":"raw","file":{"driver":"file"}}""",
        """json:{"driver":"raw","file":{"driver":"file","filename":"RAW","bogus":1}}""",
        """json:{"driver":"raw","file":{"driver":"host","filename":"RAW"}}""",
        """json:{"driver":"raw","file":{"filename":"RAW.missing"}}""",
        """json:{"driver":"raw","offset":8388608,"file":{"filename":"RAW"}}""",
        """json:{"driver":"raw","offset":1048576,"size":4194304,"file":{"filename":"RAW"}}""",
        """json:{"driver":"raw","size":511,"file":{"filename":"RAW"}}""",
        """json:{"driver":"raw","offset":-1,"file":{"filename":"RAW"}}""",
        """json:{"driver":"raw","offset":1.5,"file":{"filename":"RAW"}}""",
        """json:{"driver":"qcow2","offset":512,"file":{"filename":"QCOW2"}}""",
        """json:{"driver":"qcow2","file":{"filename":"RAW"}}""",
        """json:{"driver":"qcow2","file":{"filename":"QCOW2","locking":"maybe"}}""",
        """json:{"driver":"raw","force-share":"maybe","file":{"filename":"RAW"}}""",
        """json:{"driver":"qcow2","backing":"foo","file":{"filename":"QCOW2"}}""",
    };

    public static TheoryData<string> DottedLists => new()
    {
        "driver=raw,offset=512,size=1048576,file.filename=RAW",
        "driver=raw,file.filename=RAW",
        "file.filename=RAW",
        "driver=qcow2,file.filename=QCOW2,force-share=on",
        "driver=qcow2,file.filename=QCOW2,file.locking=off",
        "driver=qcow2,file.filename=QCOW2,backing=null",
        "driver=raw,file.filename=RAW,bogus=1",
        "driver=raw,file.filename=RAW.missing,offset=1",
    };

    [Theory]
    [MemberData(nameof(JsonNames))]
    public void Info_on_a_json_name_prints_what_qemu_img_prints(string template)
    {
        using var dir = new TempDirectory();
        var name = Substitute(template, MakeImages(dir));
        AssertSame(["info", name], ["info", name]);
        AssertSame(["info", "--output=json", name], ["info", "--output=json", name]);
    }

    [Theory]
    [MemberData(nameof(DottedLists))]
    public void Info_with_image_opts_prints_what_qemu_img_prints(string template)
    {
        using var dir = new TempDirectory();
        var list = Substitute(template, MakeImages(dir));
        AssertSame(["info", "--image-opts", list], ["info", "--image-opts", list]);
    }

    [Fact]
    public void A_raw_window_reads_the_same_bytes_and_maps_to_the_same_file_offsets()
    {
        using var dir = new TempDirectory();
        var (raw, _) = MakeImages(dir);
        var name = "json:{\"driver\":\"raw\",\"offset\":1048064,\"size\":1048576,\"file\":{\"filename\":\"" + raw + "\"}}";
        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");
        ExternalTool.QemuImg("convert", "-O", "raw", name, theirs);
        Diskimg.Ok("convert", "-O", "raw", name, ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        // The window straddles the two patterns qemu-io wrote, so a shifted read would differ.
        Assert.Equal(0x11, File.ReadAllBytes(ours)[0]);
        Assert.Equal(0x22, File.ReadAllBytes(ours)[512]);
        AssertSame(["map", "--output=json", name], ["map", "--output=json", name]);
        AssertSame(["compare", name, theirs], ["compare", name, theirs]);
        AssertSame(["resize", name, "2M"], ["resize", name, "2M"]);
    }

    [Fact]
    public void Image_opts_carry_the_window_through_convert()
    {
        using var dir = new TempDirectory();
        var (raw, _) = MakeImages(dir);
        var list = $"driver=raw,offset=1048064,size=1048576,file.filename={raw}";
        var theirs = dir.File("theirs.raw");
        var ours = dir.File("ours.raw");
        ExternalTool.QemuImg("convert", "--image-opts", list, "-O", "raw", theirs);
        Diskimg.Ok("convert", "--image-opts", list, "-O", "raw", ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public void Force_share_needs_a_read_only_open_and_lets_info_read_beside_a_writer()
    {
        using var dir = new TempDirectory();
        var (_, qcow2) = MakeImages(dir);
        var shared = "json:{\"driver\":\"qcow2\",\"force-share\":true,\"file\":{\"filename\":\"" + qcow2 + "\"}}";
        var plain = "json:{\"driver\":\"qcow2\",\"file\":{\"filename\":\"" + qcow2 + "\"}}";
        AssertSame(["resize", shared, "8M"], ["resize", shared, "8M"]);
        AssertSame(["resize", "--image-opts", $"driver=qcow2,file.filename={qcow2},force-share=on", "8M"], ["resize", "--image-opts", $"driver=qcow2,file.filename={qcow2},force-share=on", "8M"]);
        using var holder = ImageHolder.QemuIo(qcow2);
        AssertSame(["info", shared], ["info", shared]);
        AssertSame(["info", plain], ["info", plain]);
        Assert.Contains("lock", Diskimg.Run("info", plain).StdErr, StringComparison.Ordinal);
    }

    private static (string Raw, string Qcow2) MakeImages(TempDirectory dir)
    {
        var raw = dir.File("r.img");
        var qcow2 = dir.File("q.qcow2");
        ExternalTool.QemuImg("create", "-f", "raw", raw, "4M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 1M 1M", raw);
        ExternalTool.QemuImg("create", "-f", "qcow2", qcow2, "4M");
        return (raw, qcow2);
    }

    private static string Substitute(string template, (string Raw, string Qcow2) images) =>
        template.Replace("QCOW2", images.Qcow2, StringComparison.Ordinal).Replace("RAW", images.Raw, StringComparison.Ordinal);

    private static void AssertSame(string[] qemuImgArguments, string[] diskimgArguments)
    {
        var theirs = ExternalTool.Run("qemu-img", qemuImgArguments);
        var ours = Diskimg.Run(diskimgArguments);
        var what = string.Join(' ', diskimgArguments);
        Assert.True(theirs.StdOut == ours.StdOut, $"{what}\nqemu-img: {theirs.StdOut}\ndiskimg:  {ours.StdOut}");
        Assert.Equal(theirs.StdErr, ours.StdErr.Replace("diskimg:", "qemu-img:", StringComparison.Ordinal));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
