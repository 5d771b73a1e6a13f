using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// qemu-io's <c>open</c> under <c>--image-opts</c> (QEMU's test 033 run with <c>-luks</c>): its operand is an option
/// list, as the command line's image would be, and the command line's <c>--object secret</c>s unlock what it names.
/// <c>open -o</c> is refused there, as qemu-io refuses it. The same command lines run with qemu-io on one image and with <c>diskimg io</c> on an identical copy; stdout,
/// stderr (program name normalised) and exit codes must match, and so must the guest content of qcow2 images afterwards.
/// </summary>
public class QemuIoImageOptsOpenInteropTests
{
    public static TheoryData<string, string> Cases => new()
    {
        { "luks", "open driver=luks,key-secret=sec0,file.filename=IMG;write -P 0xa 0x200 0x400;read -P 0xa 0x200 0x400" },
        { "luks", "open -o driver=luks,key-secret=sec0,file.filename=IMG;write -z 0x400 0x20000;read -P 0 0x400 0x20000" },
        { "luks", "open driver=luks,key-secret=nosuch,file.filename=IMG" },
        { "qcow2", "open driver=qcow2,file.filename=IMG;write -P 3 0 64k;read -P 3 0 64k" },
        { "qcow2", "open -r driver=qcow2,file.driver=file,file.filename=IMG;read -P 0 0 4k" },
        { "qcow2", "open -o driver=qcow2 IMG" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Open_takes_an_option_list_under_image_opts(string format, string commands)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs." + format);
        var ours = dir.File("ours." + format);
        foreach (var path in new[] { theirs, ours })
        {
            if (format == "luks")
            {
                ExternalTool.QemuImg("create", "-q", "-f", "luks", "--object", "secret,id=sec0,data=123456", "-o", "key-secret=sec0,iter-time=10", path, "1M");
            }
            else
            {
                ExternalTool.QemuImg("create", "-q", "-f", "qcow2", path, "1M");
            }
        }

        string[] Arguments(string image) =>
            ["--object", "secret,id=sec0,data=123456", "--image-opts", .. commands.Split(';').SelectMany(c => new[] { "-c", c.Replace("IMG", image, StringComparison.Ordinal) })];

        var expected = ExternalTool.Run("qemu-io", Arguments(theirs));
        var actual = Diskimg.Run(["io", .. Arguments(ours)]);

        Assert.Equal(QemuToolOutput.Normalise(expected.StdOut, theirs), QemuToolOutput.Normalise(actual.StdOut, ours));
        Assert.Equal(QemuToolOutput.Normalise(expected.StdErr, theirs), QemuToolOutput.Normalise(actual.StdErr, ours));
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        if (format == "qcow2")
        {
            // (A new LUKS image's payload is not zeroed, so two of them differ before anything is written.)
            Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
        }
    }
}
