using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// A <c>null-co</c>/<c>null-aio</c> node as the file under a format, named by <c>json:</c> or <c>--image-opts</c>,
/// compared with qemu-img/qemu-io 7.2 on the same command lines: raw over it (given or probed) opens and is named
/// <c>null-co://</c> when the node has no options, another format fails as its probe of zeroes fails, the node refuses
/// options it does not have as the protocol it is, and neither prints driver information it lacks.
/// </summary>
public class NullFileNodeInteropTests
{
    public static TheoryData<string, string> Lines => new()
    {
        { "qemu-img", """info json:{"driver":"raw","file":{"driver":"null-co"}}""" },
        { "qemu-img", """info json:{"file":{"driver":"null-aio"}}""" },
        { "qemu-img", """info --output=json json:{"driver":"raw","file":{"driver":"null-co","size":1048576}}""" },
        { "qemu-img", """info --output=json json:{"driver":"raw","offset":512,"file":{"driver":"null-aio","size":65536,"latency-ns":5}}""" },
        { "qemu-img", """info --output=json null-co://""" },
        { "qemu-img", """map --output=json json:{"driver":"raw","file":{"driver":"null-co","size":65536,"read-zeroes":true}}""" },
        { "qemu-img", """map json:{"driver":"qcow2","file":{"driver":"null-co"}}""" },
        { "qemu-img", """info json:{"driver":"vmdk","file":{"driver":"null-co"}}""" },
        { "qemu-img", """check json:{"driver":"raw","file":{"driver":"null-co"}}""" },
        { "qemu-img", """info json:{"driver":"raw","file":{"driver":"null-co","bogus":1}}""" },
        { "qemu-img", """info json:{"driver":"null-co","filename":"null-co://"}""" },
        { "qemu-img", """info --image-opts driver=raw,file.driver=null-co,file.size=1M""" },
        { "qemu-io", """-c read_-P_0_0_512 json:{"driver":"raw","file":{"driver":"null-co","read-zeroes":true}}""" },
        { "qemu-io", """-c info json:{"driver":"raw","file":{"driver":"null-co","read-zeroes":true}}""" },
        { "qemu-io", """-c info -f raw null-co://""" },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void Null_file_node_behaves_as_in_qemu(string tool, string line)
    {
        var words = line.Split(' ').Select(w => w.Replace('_', ' ')).ToArray();
        var theirs = ExternalTool.Run(tool, words);
        var ours = Diskimg.Run(tool == "qemu-io" ? ["io", .. words] : words);

        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
