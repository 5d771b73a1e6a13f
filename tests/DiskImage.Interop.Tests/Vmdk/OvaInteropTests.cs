using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Vmdk;

/// <summary>An OVA made with qemu-img and GNU tar converts in place, without unpacking anything.</summary>
public class OvaInteropTests
{
    [Theory]
    [InlineData("gnu")]
    [InlineData("ustar")]
    public void An_ova_disk_converts_to_qcow2_straight_from_the_archive(string tarFormat)
    {
        using var dir = new TempDirectory();
        var work = Directory.CreateDirectory(dir.File("build")).FullName;
        ExternalTool.QemuImg("create", "-q", "-f", "raw", Path.Combine(work, "d.raw"), "64M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0xab 1M 2M", "-c", "write -P 0xcd 40M 70k", Path.Combine(work, "d.raw"));
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", Path.Combine(work, "d.raw"), Path.Combine(work, "disk1.vmdk"));
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=streamOptimized", Path.Combine(work, "disk2.vmdk"), "32M");
        File.WriteAllText(Path.Combine(work, "vm.ovf"), Ovf);
        var ovaDirectory = Directory.CreateDirectory(dir.File("ova")).FullName;
        var ova = Path.Combine(ovaDirectory, "vm.ova");
        Assert.Equal(0, ExternalTool.RunIn(work, "tar", "--format=" + tarFormat, "-cf", ova, "vm.ovf", "disk1.vmdk", "disk2.vmdk").ExitCode);

        var info = Diskimg.Ok("info", ova);
        Assert.Contains("file format: ova", info, StringComparison.Ordinal);
        Assert.Contains("file: disk1.vmdk", info, StringComparison.Ordinal);
        Assert.Contains("capacity: 67108864", info, StringComparison.Ordinal);
        Assert.Contains("capacity: 33554432", info, StringComparison.Ordinal);

        // The archive's directory holds the archive and nothing else, before and after: no disk is unpacked.
        var output = dir.File("disk.qcow2");
        Assert.Equal(["vm.ova"], Directory.GetFileSystemEntries(ovaDirectory).Select(Path.GetFileName));
        Diskimg.Ok("convert", "-O", "qcow2", ova, output);
        Assert.Equal(["vm.ova"], Directory.GetFileSystemEntries(ovaDirectory).Select(Path.GetFileName));
        Assert.Equal(["build", "disk.qcow2", "ova"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "vmdk", output, Path.Combine(work, "disk1.vmdk")).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", output).ExitCode);

        Diskimg.Ok("convert", "-O", "qcow2", "-o", "disk=1", ova, dir.File("second.qcow2"));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "vmdk", dir.File("second.qcow2"), Path.Combine(work, "disk2.vmdk")).ExitCode);
    }

    private const string Ovf = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
          <References>
            <File ovf:id="file1" ovf:href="disk1.vmdk"/>
            <File ovf:id="file2" ovf:href="disk2.vmdk"/>
          </References>
          <DiskSection>
            <Info>Virtual disks</Info>
            <Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="64" ovf:capacityAllocationUnits="byte * 2^20"
                  ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
            <Disk ovf:diskId="vmdisk2" ovf:fileRef="file2" ovf:capacity="33554432"
                  ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
          </DiskSection>
        </Envelope>
        """;
}
