using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// <c>--object</c> definitions with keys the schema does not know, bad values and encrypted secrets, as qemu-io and
/// qemu-img judge them: members in schema order first, then the leftover key QEMU's visitor names, then the id's
/// form, the properties set, and the object completed. Each runs with both tools and with diskimg on one image.
/// </summary>
public partial class QemuIoHuntInteropTests
{
    private const string Key = "secret,id=k,format=base64,data=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    private const string Iv = "8ODQwLCgkIBwYFBAMCAQAA==";

    /// <summary>Definitions each judged alone (after the key secret <c>k</c> where they name it).</summary>
    public static TheoryData<string[]> ObjectDefinitions => new()
    {
        { ["secret,id=s,data=x,bogus=1"] },
        { ["secret,id=s,bogus=1"] },
        { ["secret,id=s,data=x,format=zz,bogus=1"] },
        { ["secret,id=s,data=x,loaded=maybe,bogus=1"] },
        { ["secret,id=s,data=x,loaded=on"] },
        { ["secret,id=1s,data=x,bogus=1"] },
        { ["secret,id=1s,data=x"] },
        { ["secret,id=s,data=x,a=1,b=2,c=3"] },
        { ["qom-type=secret,id=s,data=x,zz=1,aa=2"] },
        { ["secret,id=s,data=x,iv=ignored"] },
        { ["secret,id=s,file=missing,data=x,bogus=1"] },
        { ["throttle-group,id=1t,bogus=1"] },
        { ["throttle-group,id=t,a=1,b=2,c=3"] },
        { ["throttle-group,id=t,limits.a=1,limits.b=2,limits.c=3"] },
        { ["tls-creds-x509,id=t,bogus=1"] },
        { ["tls-creds-x509,id=t,dir=/tmp,endpoint=foo,bogus=1"] },
        { ["tls-creds-x509,id=t,dir=/tmp,verify-peer=maybe,bogus=1"] },
        { ["tls-creds-x509,id=t"] },
        { ["tls-creds-x509,id=1t"] },
        { ["tls-creds-psk,id=t,dir=/tmp,loaded=on"] },
        // Encrypted secrets: the key's lookup and size, the IV's presence, form and size, the block size, the padding.
        { [Key, $"secret,id=s,format=base64,data=8lB/fNOY4H49K1poxyvJSw==,keyid=nokey,iv={Iv}"] },
        { [Key, "secret,id=s,format=base64,data=8lB/fNOY4H49K1poxyvJSw==,keyid=k"] },
        { [Key, "secret,id=s,format=base64,data=8lB/fNOY4H49K1poxyvJSw==,keyid=k,iv=AAAA"] },
        { [Key, "secret,id=s,format=base64,data=8lB/fNOY4H49K1poxyvJSw==,keyid=k,iv=!!"] },
        { [Key, $"secret,id=s,data=abc,keyid=k,iv={Iv}"] },
        { [Key, $"secret,id=s,format=base64,data=foeSn64HASyBDYwdxVWchA==,keyid=k,iv={Iv}"] },
        { [Key, $"secret,id=s,format=base64,data=8lB/fNOY4H49K1poxyvJSw==,keyid=s,iv={Iv}"] },
        { ["secret,id=k,data=short", $"secret,id=s,data=abc,keyid=k,iv={Iv}"] },
    };

    [Theory]
    [MemberData(nameof(ObjectDefinitions))]
    public void Object_definitions_are_judged_as_qemu_judges_them(string[] definitions)
    {
        string[] objects = [.. definitions.SelectMany(d => new[] { "--object", d })];
        AssertSameAsQemuIo("qcow2", [.. objects, "-c", "length", "IMG"]);
        AssertSameAsQemuImgInfo(objects);
    }

    /// <summary>An encrypted passphrase opens a luks image; a wrong one is refused as the wrong key.</summary>
    [Fact]
    public void An_encrypted_secret_unlocks_what_its_plaintext_unlocks()
    {
        AssertSameAsQemuIo("luks", ["--object", Key, "--object", $"secret,id=s,format=base64,data=8lB/fNOY4H49K1poxyvJSw==,keyid=k,iv={Iv}",
            "-c", "open -o key-secret=s IMG", "-c", "read 0 512"]);
        AssertSameAsQemuIo("luks", ["--object", Key, "--object", $"secret,id=s,format=base64,data=JIrAEXXeculTB39AC9K6Gw==,keyid=k,iv={Iv}",
            "-c", "open -o key-secret=s IMG"]);
    }

    /// <summary>
    /// Which of several unknown keys is named depends on QEMU's hash tables (its dictionary's order copied into a GLib
    /// table); random key sets, some large enough to make the table grow, are compared with qemu-img.
    /// </summary>
    [Fact]
    public void The_unexpected_key_named_among_many_is_qemus()
    {
        for (var seed = 0; seed < 12; seed++)
        {
            var random = new Random(seed);
            var keys = new List<string>();
            var count = random.Next(2, 16);
            while (keys.Count < count)
            {
                var key = "k" + new string([.. Enumerable.Range(0, random.Next(0, 8)).Select(_ => "abcdefghijklmnopqrstuvwxyz-_0123456789"[random.Next(38)])]);
                if (!keys.Contains(key) && key is not ("keyid" or "k"))
                {
                    keys.Add(key);
                }
            }

            string[] known = ["data=x", .. random.Next(2) == 0 ? new[] { "iv=y" } : [], .. random.Next(2) == 0 ? new[] { "keyid=k" } : []];
            var members = keys.Select(k => k + "=1").Concat(known).OrderBy(_ => random.Next()).ToList();
            AssertSameAsQemuImgInfo(["--object", "secret,id=s," + string.Join(',', members)]);
            AssertSameAsQemuImgInfo(["--object", "throttle-group,id=t," + string.Join(',', members)]);
        }
    }

    private static void AssertSameAsQemuImgInfo(string[] objects)
    {
        using var dir = new TempDirectory();
        var image = dir.File("img");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "1M");
        var theirs = ExternalTool.Run("qemu-img", ["info", .. objects, image]);
        var ours = Diskimg.Run(["info", .. objects, image]);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
