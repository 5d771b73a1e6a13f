using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// <c>--object help</c> and <c>--object TYPE,help</c> (the throttle group's properties among them), compared with
/// qemu-img and qemu-io 7.2 on the same command lines: the listing on stdout and exit status 0, whatever follows.
/// </summary>
public class ObjectHelpInteropTests
{
    public static TheoryData<string, string> Lines => new()
    {
        { "qemu-img", "info --object throttle-group,help missing.img" },
        { "qemu-img", "convert --object throttle-group,? a b" },
        { "qemu-img", "info --object=qom-type=throttle-group,help x" },
        { "qemu-img", "info --object help" },
        { "qemu-img", "map --object secret,help x" },
        { "qemu-img", "info --object tls-creds-x509,help x" },
        { "qemu-img", "info --object bogus,help x" },
        { "qemu-img", "info --object secret,id=s,data=x --object throttle-group,id=t,help x" },
        { "qemu-io", "--object throttle-group,help -c quit x" },
        { "qemu-io", "--object help" },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void Object_help_is_listed_as_qemu_lists_it(string tool, string line)
    {
        var words = line.Split(' ');
        var theirs = ExternalTool.Run(tool, words);
        var ours = Diskimg.Run(tool == "qemu-io" ? ["io", .. words] : words);

        Assert.Equal(0, theirs.ExitCode);
        Assert.NotEmpty(theirs.StdOut);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
