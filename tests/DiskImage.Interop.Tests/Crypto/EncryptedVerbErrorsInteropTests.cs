using DiskImage.Interop.Tests.Infrastructure;
using static DiskImage.Interop.Tests.Crypto.EncryptedImages;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// A wrong passphrase, a secret that was never defined, or no key secret at all: every verb refuses with one
/// line and qemu-img's exit code, and leaves the image untouched.
/// </summary>
public class EncryptedVerbErrorsInteropTests
{
    public enum SecretFault
    {
        WrongPassphrase,
        UndefinedSecret,
        NoKeySecret,
    }

    // {secret} is the --object definition, {opts} the --image-opts flag, {img} the image and {out} a new file.
    private static readonly Dictionary<string, string[]> s_verbs = new(StringComparer.Ordinal)
    {
        ["compare"] = ["compare", "{secret}", "{opts}", "{img}", "{img}"],
        ["snapshot -l"] = ["snapshot", "{secret}", "{opts}", "-l", "{img}"],
        ["snapshot -c"] = ["snapshot", "{secret}", "{opts}", "-c", "s1", "{img}"],
        ["resize"] = ["resize", "{secret}", "{opts}", "{img}", "8M"],
        ["dd"] = ["dd", "{secret}", "{opts}", "if={img}", "of={out}"],
        ["measure"] = ["measure", "{secret}", "-O", "qcow2", "{opts}", "{img}"],
        ["bench"] = ["bench", "{secret}", "{opts}", "-w", "-c", "1", "{img}"],
        ["commit"] = ["commit", "{secret}", "{opts}", "{img}"],
        ["rebase"] = ["rebase", "{secret}", "{opts}", "-u", "-b", "", "{img}"],
        ["check"] = ["check", "{secret}", "{opts}", "{img}"],
        ["map"] = ["map", "{secret}", "{opts}", "{img}"],
        ["convert"] = ["convert", "{secret}", "{opts}", "{img}", "{out}"],
    };

    public static TheoryData<string, SecretFault> Cases()
    {
        var data = new TheoryData<string, SecretFault>();
        foreach (var verb in s_verbs.Keys)
        {
            foreach (var fault in Enum.GetValues<SecretFault>())
            {
                data.Add(verb, fault);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Secret_faults_give_one_line_and_qemus_exit_code_and_change_nothing(string verb, SecretFault fault)
    {
        using var dir = new TempDirectory();
        var path = dir.File("locked.qcow2");
        Create(path, "1M");
        QemuIo(path, "write -P 0x42 0 64k");
        var before = File.ReadAllBytes(path);

        var theirs = ExternalTool.Run("qemu-img", Arguments(verb, fault, path, dir.File("theirs.out")));
        var ours = Diskimg.Run(Arguments(verb, fault, path, dir.File("ours.out")));

        Assert.NotEqual(0, theirs.ExitCode);
        Assert.True(theirs.ExitCode == ours.ExitCode, $"qemu-img exited {theirs.ExitCode} ({theirs.StdErr.Trim()}), ours {ours.ExitCode} ({ours.StdErr.Trim()})");
        var line = Assert.Single(ours.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("diskimg: ", line, StringComparison.Ordinal);
        Assert.Contains(fault switch
        {
            SecretFault.WrongPassphrase => "Invalid password, cannot unlock any keyslot",
            SecretFault.UndefinedSecret => $"No secret with id '{Id}'",
            _ => "Parameter 'encrypt.key-secret' is required for cipher",
        }, line, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    private static string[] Arguments(string verb, SecretFault fault, string path, string output)
    {
        var arguments = new List<string>();
        foreach (var token in s_verbs[verb])
        {
            switch (token)
            {
                case "{secret}" when fault == SecretFault.WrongPassphrase:
                    arguments.AddRange(Secret("wrong passphrase"));
                    break;
                case "{secret}":
                    break;
                case "{opts}" when fault != SecretFault.NoKeySecret:
                    arguments.Add("--image-opts");
                    break;
                case "{opts}":
                    break;
                default:
                    var image = fault == SecretFault.NoKeySecret ? path : Opts(path);
                    arguments.Add(token.Replace("{img}", image, StringComparison.Ordinal).Replace("{out}", output, StringComparison.Ordinal));
                    break;
            }
        }

        return [.. arguments];
    }
}
