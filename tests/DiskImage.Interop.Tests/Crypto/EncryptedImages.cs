using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>LUKS-encrypted qcow2 images made by qemu-img and filled by qemu-io, and qemu-img's syntax for opening them.</summary>
internal static class EncryptedImages
{
    public const string Id = "sec0";
    public const string Passphrase = "verbs-secret";

    /// <summary>Fast key slots keep the tests quick; the format is qemu-img's default LUKS one.</summary>
    public const string Luks = "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10";

    public static string[] Secret(string value = Passphrase) => ["--object", $"secret,id={Id},data={value}"];

    /// <summary>The <c>--image-opts</c> name of an encrypted image; with <paramref name="chain"/>, its encrypted backing file's secret too.</summary>
    public static string Opts(string path, bool chain = false, string id = Id) =>
        $"driver=qcow2,file.filename={path},encrypt.key-secret={id}" + (chain ? $",backing.encrypt.key-secret={id}" : "");

    public static void Create(string path, string size, string? backing = null)
    {
        string[] backingArgs = backing is null ? [] : ["-b", backing, "-F", "qcow2"];
        ExternalTool.QemuImg(["create", "-q", .. Secret(), "-f", "qcow2", "-o", Luks, .. backingArgs, path, size]);
    }

    /// <summary>Runs qemu-io commands on an encrypted image; pattern mismatches fail the test.</summary>
    public static void QemuIo(string path, params string[] commands) => QemuIo(path, chain: false, commands);

    public static void QemuIo(string path, bool chain, params string[] commands)
    {
        var arguments = new List<string>(Secret()) { "--image-opts" };
        foreach (var command in commands)
        {
            arguments.Add("-c");
            arguments.Add(command);
        }

        arguments.Add(Opts(path, chain));
        var output = ExternalTool.QemuIo([.. arguments]);
        Assert.DoesNotContain("Pattern verification failed", output, StringComparison.Ordinal);
    }

    /// <summary>The guest content as qemu-img convert reads it.</summary>
    public static byte[] QemuContent(string path, bool chain = false)
    {
        var raw = path + ".qemu.raw";
        ExternalTool.QemuImg(["convert", .. Secret(), "--image-opts", Opts(path, chain), "-O", "raw", raw]);
        var bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    public static void AssertQemuCheckClean(string path, bool chain = false)
    {
        var check = ExternalTool.Run("qemu-img", ["check", .. Secret(), "--image-opts", Opts(path, chain)]);
        Assert.True(check.ExitCode == 0, $"qemu-img check: {check.StdOut}{check.StdErr}");
    }
}
