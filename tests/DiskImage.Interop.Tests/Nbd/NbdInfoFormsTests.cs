using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// <c>diskimg info</c> on an NBD export in every form a user may name it (URI with and without <c>-f</c>, the nbd
/// protocol as the top driver, nbd under a format), text and JSON, prints exactly what qemu-img 7.2 prints against
/// qemu-nbd serving a raw file, a qcow2 image, and a qcow2 file exported raw.
/// </summary>
public class NbdInfoFormsTests
{
    public static TheoryData<string, string> Exports() => new()
    {
        { "raw", "raw" },
        { "qcow2", "qcow2" },
        { "qcow2", "raw" },
    };

    [Theory]
    [MemberData(nameof(Exports))]
    public void Info_prints_what_qemu_img_prints_for_every_form(string imageFormat, string servedAs)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk." + imageFormat);
        ExternalTool.QemuImg("create", "-q", "-f", imageFormat, image, "6M");
        ExternalTool.QemuIo("-f", imageFormat, "-c", "write -P 0x44 1M 64k", image);
        var socket = dir.File("s.sock");
        using var server = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-r", "-f", servedAs, "-k", socket, image);
        var uri = server.Uri();
        var forms = new List<string[]>
        {
            new[] { uri },
            new[] { "-f", "raw", uri },
            new[] { "-f", "nbd", uri },
            new[] { "--image-opts", $"driver=nbd,server.type=unix,server.path={socket}" },
            new[] { "--image-opts", $"driver=raw,file.driver=nbd,file.server.type=unix,file.server.path={socket}" },
        };
        if (servedAs == "raw" && imageFormat == "qcow2")
        {
            forms.Add(["-f", "qcow2", uri]);
            forms.Add(["--image-opts", $"driver=qcow2,file.driver=nbd,file.server.type=unix,file.server.path={socket}"]);
        }

        foreach (var form in forms)
        {
            foreach (var output in new[] { "--output=human", "--output=json" })
            {
                string[] arguments = ["info", output, .. form];
                var expected = ExternalTool.Run("qemu-img", arguments);
                var actual = Diskimg.Run(arguments);
                Assert.True(expected.ExitCode == actual.ExitCode, $"{string.Join(' ', arguments)}: qemu-img exit {expected.ExitCode}, diskimg {actual.ExitCode}: {actual.StdErr}");
                Assert.Equal(expected.StdOut, actual.StdOut);
            }
        }
    }

    [Fact]
    public void A_file_named_as_the_protocol_prints_what_qemu_img_prints()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "3M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x45 0 64k", image);
        foreach (var form in new[] { new[] { "-f", "file", image }, new[] { "--image-opts", $"driver=file,filename={image}" } })
        {
            foreach (var output in new[] { "--output=human", "--output=json" })
            {
                string[] arguments = ["info", output, .. form];
                Assert.Equal(ExternalTool.QemuImg(arguments), Diskimg.Ok(arguments));
            }
        }
    }
}
