namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// A <c>host_device</c> or <c>host_cdrom</c> file node under a format takes only a character or block device, as at
/// the top: a regular file is refused in QEMU's words, a device (<c>/dev/null</c>) and a missing file go their own ways.
/// </summary>
public partial class FilenameBesideDriverInteropTests
{
    public static TheoryData<string, string> HostDeviceLines()
    {
        var data = new TheoryData<string, string>();
        foreach (var driver in new[] { "host_device", "host_cdrom" })
        {
            data.Add("qemu-img", $$$"""info json:{"driver":"raw","file":{"driver":"{{{driver}}}","filename":"@R"}}""");
            data.Add("qemu-img", $$$"""info json:{"driver":"qcow2","file":{"driver":"{{{driver}}}","filename":"@Q"}}""");
            data.Add("qemu-img", $$$"""info json:{"file":{"driver":"{{{driver}}}","filename":"@Q"}}""");
            data.Add("qemu-img", $$$"""info json:{"driver":"raw","file":{"driver":"{{{driver}}}","filename":"/dev/null"}}""");
            data.Add("qemu-img", $"info --image-opts driver=raw,file.driver={driver},file.filename=@R");
            data.Add("qemu-io", $$$"""-c read_0_1 json:{"driver":"raw","file":{"driver":"{{{driver}}}","filename":"@R"}}""");
            data.Add("qemu-io", $"--image-opts -c read_0_1 driver=qcow2,file.driver={driver},file.filename=@Q");
            data.Add("qemu-io", $$$"""-r -c read_0_1 json:{"driver":"raw","file":{"driver":"{{{driver}}}","filename":"@Rmissing"}}""");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(HostDeviceLines))]
    public void A_host_device_file_node_takes_only_a_device(string tool, string line) => A_filename_beside_a_driver_is_judged_as_qemu_judges_it(tool, line);
}
