using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// Behaviours QEMU's iotests exercise (049, 079, 043, 036), pinned here because CI cannot run QEMU's scripts:
/// each case runs qemu-img and diskimg on identical inputs and compares stdout, stderr (program name
/// normalised) and the exit code.
/// </summary>
public class IotestBehaviourInteropTests
{
    [Theory]
    [InlineData("-o size=foobar {img}")]
    [InlineData("-o size=-1k {img}")]
    [InlineData("-o compat=0.42 {img} 64M")]
    [InlineData("-o compat=foobar,size=1kilobyte {img}")]
    [InlineData("-o preallocation=1234 {img} 64M")]
    [InlineData("-o compat=0.10,lazy_refcounts=on {img} 64M")]
    [InlineData("-o cluster_size=4M,preallocation=metadata {img} 4G")]
    [InlineData("-o cluster_size=foo {img} 1M")]
    [InlineData("-o compression_type=foo {img} 1M")]
    [InlineData("-o refcount_bits=3 {img} 1M")]
    [InlineData("-b  {img} 1M")]
    [InlineData("-o encryption=on {img} 64M")]
    [InlineData("-o encryption=on,encrypt.key-secret=nosuch {img} 64M")]
    [InlineData("--object secret,id=sec0,data=123456 -o encryption=on,encrypt.key-secret=sec0 {img} 64M")]
    public void Create_reports_option_errors_where_and_as_qemu_img_does(string command)
    {
        using var dir = new TempDirectory();
        var img = dir.File("t.qcow2");
        var args = new[] { "create", "-f", "qcow2" }
            .Concat(command.Split(' ').Select(a => a.Replace("{img}", img, StringComparison.Ordinal))).ToArray();

        var theirs = ExternalTool.Run("qemu-img", args);
        File.Delete(img);
        var ours = Diskimg.Run(args);

        AssertSame(theirs, ours);
        Assert.Equal(theirs.ExitCode == 0, File.Exists(img));
    }

    [Fact]
    public void Legacy_aes_images_are_created_byte_for_byte_as_qemu_img_creates_them()
    {
        using var dir = new TempDirectory();
        string[] args = ["create", "-q", "-f", "qcow2", "--object", "secret,id=sec0,data=123456", "-o", "encrypt.format=aes,encrypt.key-secret=sec0"];
        ExternalTool.QemuImg([.. args, dir.File("theirs.qcow2"), "64M"]);
        Diskimg.Ok([.. args, dir.File("ours.qcow2"), "64M"]);

        Assert.Equal(File.ReadAllBytes(dir.File("theirs.qcow2")), File.ReadAllBytes(dir.File("ours.qcow2")));
    }

    [Fact]
    public void Info_backing_chain_reports_a_loop_built_by_an_unsafe_rebase()
    {
        using var dir = new TempDirectory();
        var img = dir.File("t.qcow2");
        var baseImg = dir.File("t.qcow2.base");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", baseImg, "1M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", baseImg, "-F", "qcow2", img, "1M");

        // qemu-img rebase -u does not look at the new chain; the loop shows up when the chain is walked.
        var ours = Diskimg.Run("rebase", "-u", "-b", img, "-F", "qcow2", baseImg);
        Assert.Equal(0, ours.ExitCode);
        Assert.Equal(img, ExternalTool.QemuImg("info", "--output=json", baseImg).Split("\"backing-filename\": \"")[1].Split('"')[0]);

        AssertSame(ExternalTool.Run("qemu-img", "info", "--backing-chain", img), Diskimg.Run("info", "--backing-chain", img));
    }

    [Theory]
    [InlineData(63, new[] { 63 })]
    [InlineData(63, new[] { 61, 62, 63 })]
    [InlineData(61, new[] { 61, 62, 63 })]
    public void Unsupported_features_are_named_from_a_short_feature_table(int namedBit, int[] setBits)
    {
        using var dir = new TempDirectory();
        var img = dir.File("t.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", img, "64M");
        var bytes = File.ReadAllBytes(img);
        ulong incompatible = 0;
        foreach (var bit in setBits)
        {
            incompatible |= 1UL << bit;
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(72), incompatible);
        // Replace the header extensions with one feature table entry cut short: type, bit and a 12-byte name.
        var extensionStart = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(100));
        byte[] name = "Test feature"u8.ToArray();
        var extension = new byte[8 + 16 + 8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(extension, 0x6803f857);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(extension.AsSpan(4), (uint)(2 + name.Length));
        extension[8] = 0;
        extension[9] = (byte)namedBit;
        name.CopyTo(extension, 10);
        Array.Clear(bytes, extensionStart, 4096 - extensionStart);
        extension.CopyTo(bytes, extensionStart);
        File.WriteAllBytes(img, bytes);

        AssertSame(ExternalTool.Run("qemu-img", "info", img), Diskimg.Run("info", img));
    }

    private static void AssertSame(ExternalTool.Result theirs, ExternalTool.Result ours)
    {
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
