using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// An encrypted qcow2 overlay over an encrypted backing file, each layer with its own secret
/// (<c>encrypt.key-secret</c> for the image, <c>backing.encrypt.key-secret</c> for its backing file), as iotests 189
/// and 198 open them; qemu-img and qemu-io on the same command lines are the judges.
/// </summary>
public class LayerSecretsInteropTests
{
    private static readonly string[] s_secrets =
        ["--object", "secret,id=sec0,data=astrochicken", "--object", "secret,id=sec1,data=furby"];

    private static string Layer(string path) => $"driver=qcow2,file.filename={path},encrypt.key-secret=sec1";

    private static string Chain(string path) => Layer(path) + ",backing.encrypt.key-secret=sec0";

    private static string Base(string path) => $"driver=qcow2,file.filename={path},encrypt.key-secret=sec0";

    /// <summary>
    /// A base filled with 0xa under sec0 and an empty overlay under sec1, both made by qemu-img, copied into
    /// <c>prefix/</c>. The chain is made once per class (each LUKS create costs qemu-img about two seconds of PBKDF
    /// calibration); the overlay names its backing file relatively, so a copy next to a copy of the base is the same
    /// chain of QEMU's making.
    /// </summary>
    private static (string Base, string Top) MakeChain(TempDirectory dir, string prefix)
    {
        var (madeBase, madeTop) = s_chain.Value;
        var into = Directory.CreateDirectory(dir.File(prefix)).FullName;
        var basePath = Path.Combine(into, Path.GetFileName(madeBase));
        var top = Path.Combine(into, Path.GetFileName(madeTop));
        File.Copy(madeBase, basePath);
        File.Copy(madeTop, top);
        return (basePath, top);
    }

    private static readonly Lazy<(string Base, string Top)> s_chain = new(() =>
    {
        var dir = new TempDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        var basePath = dir.File("chain.base.qcow2");
        var top = dir.File("chain.qcow2");
        ExternalTool.QemuImg(["create", "-q", .. s_secrets, "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", basePath, "1M"]);
        ExternalTool.QemuIo([.. s_secrets, "-c", "write -P 0xa 0 1M", "--image-opts", Base(basePath)]);
        // Relative, so resolved next to the overlay wherever it is copied.
        ExternalTool.QemuImg(["create", "-q", .. s_secrets, "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec1,encrypt.iter-time=10", "-b", Path.GetFileName(basePath), "-F", "qcow2", top]);
        return (basePath, top);
    });

    private static string QemuRead(string spec, string command) =>
        ExternalTool.QemuIo([.. s_secrets, "-c", command, "--image-opts", spec]);

    [Fact]
    public void Qemu_io_writes_and_reads_through_layers_with_their_own_secrets_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var (_, theirTop) = MakeChain(dir, "theirs");
        var (_, ourTop) = MakeChain(dir, "ours");
        string[] commands = ["-c", "write -P 0xe 0 1024", "-c", "read -P 0xe 0 1024", "-c", "read -P 0xa 1024 64512"];

        var theirs = ExternalTool.Run("qemu-io", [.. s_secrets, .. commands, "--image-opts", Chain(theirTop)]);
        var ours = Diskimg.Run(["io", .. s_secrets, .. commands, "--image-opts", Chain(ourTop)]);

        Assert.Equal(0, theirs.ExitCode);
        Assert.DoesNotContain("Pattern verification failed", theirs.StdOut, StringComparison.Ordinal);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut + theirs.StdErr, theirTop), QemuToolOutput.Normalise(ours.StdOut + ours.StdErr, ourTop));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);

        // What diskimg wrote reads back under qemu-io with the same per-layer secrets.
        var check = QemuRead(Chain(ourTop), "read -P 0xe 0 1024");
        Assert.DoesNotContain("Pattern verification failed", check, StringComparison.Ordinal);
        Assert.DoesNotContain("Pattern verification failed", QemuRead(Chain(ourTop), "read -P 0xa 1024 64512"), StringComparison.Ordinal);
    }

    [Fact]
    public void Commit_unlocks_the_base_with_the_backing_secret_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var (theirBase, theirTop) = MakeChain(dir, "theirs");
        var (ourBase, ourTop) = MakeChain(dir, "ours");
        foreach (var top in new[] { theirTop, ourTop })
        {
            ExternalTool.QemuIo([.. s_secrets, "-c", "write -P 0x9 0 512k", "--image-opts", Chain(top)]);
        }

        var theirs = ExternalTool.Run("qemu-img", ["commit", .. s_secrets, "--image-opts", Chain(theirTop)]);
        var ours = Diskimg.Run(["commit", .. s_secrets, "--image-opts", Chain(ourTop)]);

        Assert.Equal(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        foreach (var basePath in new[] { theirBase, ourBase })
        {
            Assert.DoesNotContain("Pattern verification failed", QemuRead(Base(basePath), "read -P 0x9 0 512k"), StringComparison.Ordinal);
            Assert.DoesNotContain("Pattern verification failed", QemuRead(Base(basePath), "read -P 0xa 512k 512k"), StringComparison.Ordinal);
        }

        var check = ExternalTool.Run("qemu-img", ["check", .. s_secrets, "--image-opts", Base(ourBase)]);
        Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
    }

    [Fact]
    public void Info_names_an_image_opened_with_its_key_secret_by_json_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var (basePath, top) = MakeChain(dir, "info");
        foreach (var spec in new[] { Base(basePath), Layer(top) })
        {
            var theirs = ExternalTool.QemuImg(["info", .. s_secrets, "--image-opts", spec]);
            var ours = Diskimg.Ok(["info", .. s_secrets, "--image-opts", spec]);
            var theirName = theirs.Split('\n')[0];
            Assert.StartsWith("image: json:{", theirName, StringComparison.Ordinal);
            Assert.Equal(theirName, ours.Split('\n')[0]);
        }
    }
}
