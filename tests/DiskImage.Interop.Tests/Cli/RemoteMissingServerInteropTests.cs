using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// The remote drivers (nbd, ssh, nfs, iscsi, and curl's http/https/ftp/ftps) in their option form without their server
/// option, or with only a <c>filename</c> option (which none of them reads as its address): each reports QEMU's
/// missing-option error without connecting anywhere, at the top, as a file node, and in qemu-io's <c>open -o</c>.
/// Every address named is a closed local port, so a connection attempt would show as a different line. Each line runs
/// with qemu-img/qemu-io and with diskimg; stdout, stderr (program name normalised) and exit codes must match.
/// </summary>
public partial class RemoteMissingServerInteropTests
{
    public static TheoryData<string, string> Lines()
    {
        var data = new TheoryData<string, string>();
        foreach (var options in new[]
        {
            "driver=nbd", "driver=nbd,export=x", "driver=nbd,filename=nbd://127.0.0.1:1",
            "driver=ssh", "driver=ssh,path=/x", "driver=ssh,filename=ssh://127.0.0.1:1/x",
            "driver=nfs,path=/x", "driver=nfs,filename=nfs://127.0.0.1/x",
            "driver=iscsi,filename=iscsi://127.0.0.1:1/iqn.x/0", "driver=iscsi,transport=tcp,portal=127.0.0.1:1",
            "driver=http", "driver=https,filename=https://127.0.0.1:1/x", "driver=ftp,readahead=1k", "driver=ftps,filename=ftps://127.0.0.1:1/x",
        })
        {
            data.Add("qemu-img", $"info --image-opts {options}");
            data.Add("qemu-img", $"info --image-opts driver=raw,{FileNode(options)}");
            data.Add("qemu-io", $"-c open_-o_{options} -c info");
        }

        data.Add("qemu-img", """info json:{"driver":"nbd","filename":"nbd://127.0.0.1:1/x"}""");
        data.Add("qemu-img", """info json:{"driver":"qcow2","file":{"driver":"nbd","filename":"nbd://127.0.0.1:1/x"}}""");
        data.Add("qemu-img", """info json:{"driver":"raw","file":{"driver":"http","filename":"http://127.0.0.1:1/x"}}""");
        data.Add("qemu-img", """info json:{"driver":"ftp","filename":"ftp://127.0.0.1:1/x"}""");
        data.Add("qemu-io", """-c info json:{"driver":"http","filename":"http://127.0.0.1:1/x"}""");
        data.Add("qemu-io", "--image-opts -c info driver=https,filename=https://127.0.0.1:1/x");
        data.Add("qemu-io", "-r --image-opts -c info driver=https,filename=https://127.0.0.1:1/x");
        data.Add("qemu-io", "-r --image-opts -c info driver=nbd,filename=nbd://127.0.0.1:1");
        return data;
    }

    [Theory]
    [MemberData(nameof(Lines))]
    public void A_remote_driver_without_its_server_fails_as_in_qemu(string tool, string line)
    {
        var words = line.Split(' ').Select(w => w.Replace('_', ' ')).ToArray();
        var theirs = ExternalTool.Run(tool, words);
        var ours = Diskimg.Run(tool == "qemu-io" ? ["io", .. words] : words);

        Assert.Equal(Normalise(theirs.StdOut), Normalise(ours.StdOut));
        Assert.Equal(Normalise(theirs.StdErr), Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>The same options one level down, as the raw format's file node.</summary>
    private static string FileNode(string options) => string.Join(',', options.Split(',').Select(o => "file." + o));

    /// <summary>qemu's GLib assertion lines before a curl refusal belong to its build (see docs/CONFORMANCE.md).</summary>
    private static string Normalise(string text) => QemuToolOutput.Normalise(GlibLine().Replace(text, ""));

    [GeneratedRegex(@"(?m)^[a-z-]+: GLib: .*\n")]
    private static partial Regex GlibLine();
}
