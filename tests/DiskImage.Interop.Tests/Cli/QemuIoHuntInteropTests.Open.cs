using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// qemu-io's objects, opens and reopens as scripts use them, right and wrong: <c>--object</c> judged where the option
/// loop meets it, <c>open -o</c> without a file or with an option the probed format refuses, <c>reopen -o
/// read-only=on</c> while qemu-io's own device writes, reopens of a <c>-s</c> overlay, luks keys for a probed image,
/// QEMU's JSON errors, <c>--image-opts</c> flags, raw growth past the host's limit and a discard over a broken L1 entry.
/// Each line runs with qemu-io and <c>diskimg io</c> on twin copies of one image; QEMU's random name parts are masked.
/// </summary>
public partial class QemuIoHuntInteropTests
{
    private static readonly string[] Secret = ["--object", "secret,id=sec0,data=abc"];

    /// <summary>Command lines on a qcow2 image, some with a raw file <c>DIR/raw</c> beside it (made by the line itself).</summary>
    public static TheoryData<string, string[]> OpenLines => new()
    {
        // --object: each is created as the option loop reads it, so its error comes before later options' and a
        // help request after a bad object is never reached.
        { "qcow2", ["--object", "bogus", "-c", "length", "IMG"] },
        { "qcow2", ["--object", "-c", "read 0 1", "IMG"] },
        { "qcow2", ["--object", "secret,id=s,data=x", "--object", "secret,id=s,data=y", "-t", "bogus", "IMG"] },
        { "qcow2", ["-t", "bogus", "--object", "bogus", "IMG"] },
        { "qcow2", ["--object", "bogus", "--object", "help", "IMG"] },
        { "qcow2", ["--object", "throttle-group,id=t,x-bps-read=1k", "--object", "secret,id=t,data=x", "-c", "length", "IMG"] },
        // open -o without a file: the options' own complaint, as a json: name would give it.
        { "qcow2", ["-c", "close", "-c", "open -o driver=raw", "-c", "open -o driver=qcow2", "-c", "open -r", "-c", "open -o read-only=on",
            "-c", "open -o driver=nbd", "IMG"] },
        // reopen -o read-only=on: refused while qemu-io's device writes (after a read-write open, until a reopen -r).
        { "qcow2", ["-c", "reopen -o read-only=on", "-c", "write 0 1", "-c", "reopen -o read-only=on,bogus=1", "-c", "reopen -o read-only=on,lazy-refcounts=bad",
            "-c", "close", "-c", "open DIR/missing", "-c", "open IMG", "-c", "reopen -o read-only=on", "-c", "close", "-c", "open -o node-name=foo IMG",
            "-c", "reopen -o read-only=on", "-c", "reopen -r", "-c", "reopen -w", "-c", "reopen -o read-only=on", "-c", "write 0 1", "IMG"] },
        { "qcow2", ["-r", "-c", "reopen -o read-only=on", "-c", "read -P 0x11 0 512", "IMG"] },
        // -s: QEMU's overlay is unlinked once open; a reopen that changes its open flags fails to find it.
        { "qcow2", ["-s", "-c", "reopen -c unsafe", "-c", "reopen -r", "-c", "write -P 5 0 512", "-c", "read -P 5 0 512", "IMG"] },
        { "qcow2", ["-s", "-c", "reopen -o read-only=on", "-c", "reopen -c none", "IMG"] },
        // QEMU's JSON parser reads a key as any value first.
        { "qcow2", ["-c", "length", "json:{bogus"] },
        { "qcow2", ["-c", "length", "json:{\"a\":1,}"] },
        { "qcow2", ["-c", "length", "json:{1:2}"] },
        { "qcow2", ["-c", "length", "json:{\"driver\":\"qcow2\",bogus}"] },
        // --image-opts: a bare word is a deprecated short-form flag.
        { "qcow2", ["--image-opts", "-c", "length", "IMG"] },
        { "qcow2", ["--image-opts", "-c", "length", "noimg"] },
        { "qcow2", ["--image-opts", "-c", "length", "driver=qcow2,file.filename=IMG,foo"] },
        // Luks keys: a probed luks image takes key-secret, another format refuses it after its own complaint.
        { "luks", [.. Secret, "-c", "open -o key-secret=sec0 IMG", "-c", "read 0 512", "-c", "info"] },
        { "qcow2-luks", [.. Secret, "-c", "open -o key-secret=sec0 IMG"] },
        { "qcow2-luks", [.. Secret, "-c", "open -o encrypt.key-secret=sec0 IMG", "-c", "write -P 9 0 4k", "-c", "info"] },
        { "qcow2", [.. Secret, "-c", "close", "-c", "open -o key-secret=sec0 IMG"] },
        // A discard over an L1 entry whose L2 table is unaligned is a corruption event; then no medium is left.
        { "qcow2-l1-unaligned", ["-c", "discard 64k 64k", "-c", "write -z 0 64k", "-c", "read 0 512", "IMG"] },
    };

    [Theory]
    [MemberData(nameof(OpenLines))]
    public void Objects_opens_and_reopens_are_as_qemu_ios(string kind, string[] arguments) => AssertSameAsQemuIo(kind, arguments);

    /// <summary>A probed raw image: the probing warning comes before a refused option or a bad raw window.</summary>
    [Fact]
    public void A_probed_raw_image_warns_before_its_options_are_refused() =>
        AssertSameAsQemuIo("raw", ["-c", "close", "-c", "open -o bogus=1 IMG", "-c", "open -r -o bogus=1 IMG", "-c", "open -o offset=4M IMG",
            "-c", "open -o size=1 IMG", "-c", "open -o driver=raw,bogus=1 IMG", "IMG"]);

    /// <summary>qemu-io's truncate and qemu-img's resize word EFBIG alike: the step that met it.</summary>
    [Fact]
    public void Raw_growth_past_the_hosts_limit_names_the_step()
    {
        AssertSameAsQemuIo("raw", ["-f", "raw", "-c", "truncate 7E", "-c", "truncate 1P", "-c", "length", "IMG"]);
        using var dir = new TempDirectory();
        var image = dir.File("img");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        foreach (var mode in new[] { "off", "falloc", "full" })
        {
            var theirs = ExternalTool.Run("qemu-img", "resize", "-f", "raw", $"--preallocation={mode}", image, "7E");
            var ours = Diskimg.Run("resize", "-f", "raw", $"--preallocation={mode}", image, "7E");
            Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(1024 * 1024, new FileInfo(image).Length);
        }
    }
}
