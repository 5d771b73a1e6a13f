using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// No command writes over its own input: convert, dd, commit, rebase, iso create and create -b are refused with
/// one line and exit 1 when the output is an input (or a file of an input's backing chain) under any spelling,
/// and every input's bytes are unchanged (sha256), and qemu-img still finds the images clean.
/// </summary>
public sealed class SelfOverwriteTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var verb in new[] { "convert", "convert-raw", "dd", "commit", "rebase", "iso", "create" })
        {
            foreach (var spelling in new[] { "same", "dot", "symlink", "hardlink", "procfd", "chain" })
            {
                data.Add(verb, spelling);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writing_over_an_input_is_refused(string verb, string spelling)
    {
        using var dir = new TempDirectory();
        var images = MakeChain(dir);

        // The file that would be overwritten: the top image, or for "chain" the bottom of its backing chain
        // (commit always aims at top: its chain is made to loop back to it, at top itself or at base).
        var victim = spelling == "chain" && verb != "commit" ? images[0] : images[^1];
        using var procFd = spelling == "procfd" ? File.OpenHandle(victim) : null;
        var link = spelling switch
        {
            "symlink" => Link(dir, victim, hard: false),
            "hardlink" => Link(dir, victim, hard: true),
            _ => victim,
        };

        // On the command line paths are relative to the working directory; in a backing-file name, to the image's directory.
        var output = spelling switch
        {
            "dot" => "./" + Path.GetRelativePath(Environment.CurrentDirectory, victim),
            "procfd" => $"/proc/self/fd/{procFd!.DangerousGetHandle()}",
            _ => link,
        };
        var backingName = spelling switch
        {
            "dot" => "./" + Path.GetFileName(victim),
            "procfd" => output,
            _ => Path.GetFileName(link),
        };
        if (verb == "commit")
        {
            // qemu-img rebase -u writes any name; the layer names the top image (under this spelling) as its backing file.
            var layer = spelling == "chain" ? images[0] : images[^1];
            ExternalTool.RunIn(dir.Path, "qemu-img", "rebase", "-u", "-f", "qcow2", "-b", backingName, "-F", "qcow2", layer).EnsureSuccess("qemu-img rebase -u");
        }

        var before = images.ToDictionary(p => p, Hash);
        var result = Run(dir, verb, output, backingName, spelling);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("diskimg: ", line, StringComparison.Ordinal);
        Assert.Empty(result.StdOut);
        foreach (var (path, hash) in before)
        {
            Assert.Equal(hash, Hash(path));
            if (verb != "commit")
            {
                ExternalTool.Run("qemu-img", "check", path).EnsureSuccess("qemu-img check " + path);
            }
        }
    }

    /// <summary>base.qcow2 ← mid.qcow2 ← top.qcow2, each with data of its own; paths absolute.</summary>
    private static List<string> MakeChain(TempDirectory dir)
    {
        ExternalTool.Run("qemu-img", "create", "-f", "qcow2", dir.File("base.qcow2"), "8M").EnsureSuccess("create base");
        ExternalTool.Run("qemu-io", "-c", "write -P 0x11 0 2M", dir.File("base.qcow2")).EnsureSuccess("write base");
        ExternalTool.RunIn(dir.Path, "qemu-img", "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2").EnsureSuccess("create mid");
        ExternalTool.Run("qemu-io", "-c", "write -P 0x22 1M 2M", dir.File("mid.qcow2")).EnsureSuccess("write mid");
        ExternalTool.RunIn(dir.Path, "qemu-img", "create", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2").EnsureSuccess("create top");
        ExternalTool.Run("qemu-io", "-c", "write -P 0x33 2M 2M", dir.File("top.qcow2")).EnsureSuccess("write top");
        return [dir.File("base.qcow2"), dir.File("mid.qcow2"), dir.File("top.qcow2")];
    }

    /// <summary>Runs the verb in-process; inputs are named by absolute path, the output by the spelling under test.</summary>
    private static ExternalTool.Result Run(TempDirectory dir, string verb, string output, string backingName, string spelling)
    {
        var top = dir.File("top.qcow2");
        return verb switch
        {
            "convert" => Diskimg.Run("convert", "-O", "qcow2", top, output),
            "convert-raw" => Diskimg.Run("convert", "-f", "qcow2", "-O", "raw", top, output),
            "dd" => Diskimg.Run("dd", "-O", "raw", $"if={top}", $"of={output}"),

            // The output is one of the files going into the image (for "chain", the whole directory goes in).
            "iso" => Diskimg.Run("iso", "create", "-o", output, spelling == "chain" ? dir.Path : top),

            // commit writes into a base that is, under another name, the image being committed.
            "commit" => Diskimg.Run("commit", top),

            // rebase onto the image itself, or (chain) rebase base onto top, whose chain holds base.
            "rebase" => spelling == "chain"
                ? Diskimg.Run("rebase", "-F", "qcow2", "-b", "top.qcow2", dir.File("base.qcow2"))
                : Diskimg.Run("rebase", "-F", "qcow2", "-b", backingName, top),

            // create -b top: the new image would replace top itself, or (chain) base, a file of top's chain.
            _ => Diskimg.Run("create", "-f", "qcow2", "-b", top, "-F", "qcow2", output),
        };
    }

    private static string Link(TempDirectory dir, string target, bool hard)
    {
        var link = dir.File((hard ? "hard-" : "sym-") + Path.GetFileName(target));
        if (hard)
        {
            ExternalTool.Run("ln", target, link).EnsureSuccess("ln");
        }
        else
        {
            File.CreateSymbolicLink(link, target);
        }

        return link;
    }

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
