using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Native;

/// <summary>
/// Every verb of the shipped, Native AOT <c>diskimg</c> on a small real job, judged by qemu-img (or, for the ISO
/// verbs qemu-img lacks, by the in-process JIT run of the same command and by the bytes put in).
/// </summary>
public class NativeCliSmokeTests
{
    [Fact]
    public void The_binary_is_a_native_executable_not_a_managed_apphost()
    {
        var bytes = File.ReadAllBytes(NativeDiskimg.Path);

        Assert.Equal("\u007fELF"u8.ToArray(), bytes[..4]);
        // The NativeAOT runtime exports this symbol; an apphost has none and looks for hostfxr to start a runtime.
        Assert.True(Contains(bytes, "DotNetRuntimeDebugHeader"u8), "no NativeAOT runtime in the executable");
        Assert.False(Contains(bytes, "hostfxr"u8), "the executable is an apphost that needs a .NET runtime");
        Assert.Matches(@"^diskimg version 7\.2\.0 \(diskimg \d+\.\d+\.\d+", NativeDiskimg.Ok("--version"));
    }

    [Fact]
    public void Create_io_info_map_check_measure_match_qemu_img()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        NativeDiskimg.Ok("create", "-q", "-f", "qcow2", "-o", "cluster_size=65536,lazy_refcounts=on", image, "64M");
        NativeDiskimg.Ok("io", "-c", "write -P 0x5a 1M 3M", "-c", "write -z 8M 1M", image);

        Assert.Contains("read 3145728/3145728 bytes", ExternalTool.QemuIo("-c", "read -P 0x5a 1M 3M", image), StringComparison.Ordinal);
        foreach (var verb in new[] { "info", "map", "check" })
        {
            Assert.Equal(ExternalTool.QemuImg(verb, "--output=json", image), NativeDiskimg.Ok(verb, "--output=json", image));
        }

        Assert.Equal(ExternalTool.QemuImg("info", image), NativeDiskimg.Ok("info", image));
        Assert.Equal(ExternalTool.QemuImg("measure", "-O", "qcow2", image), NativeDiskimg.Ok("measure", "-O", "qcow2", image));
    }

    /// <summary>The http(s) drivers use HttpClient and SslStream, which Native AOT must keep: info and convert over both.</summary>
    [Fact]
    public void Images_on_a_web_server_are_read_over_http_and_https()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "16M");
        ExternalTool.QemuIo("-c", "write -P 0x4e 2M 1M", image);
        using var http = new Curl.RangeHttpServer(dir.Path);
        using var https = new Curl.RangeHttpServer(dir.Path, tls: true);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", http.Url("a.qcow2")), NativeDiskimg.Ok("info", "--output=json", http.Url("a.qcow2")));
        var refused = NativeDiskimg.Run("info", https.Url("a.qcow2"));
        Assert.Equal((1, ""), (refused.ExitCode, refused.StdOut));
        Assert.EndsWith("CURL: Error opening file: server certificate verification failed. CAfile: none CRLfile: none\n", refused.StdErr, StringComparison.Ordinal);
        NativeDiskimg.Ok("convert", "-O", "qcow2", "--image-opts", $"driver=qcow2,file.driver=https,file.url={https.Url("a.qcow2")},file.sslverify=off", dir.File("copy.qcow2"));
        Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", image, dir.File("copy.qcow2")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    [InlineData("qcow2", "-c")]
    [InlineData("qcow2", "-c", "-o", "compression_type=zstd")]
    public void Convert_output_passes_qemu_img_check_and_compare(string format, params string[] options)
    {
        using var dir = new TempDirectory();
        var source = MakeSource(dir);
        var target = dir.File("out." + format);

        NativeDiskimg.Ok(["convert", "-f", "raw", "-O", format, .. options, source, target]);

        if (format == "qcow2")
        {
            ExternalTool.QemuImg("check", target);
        }

        ExternalTool.QemuImg("compare", "-f", "raw", "-F", format, source, target);
        Assert.Equal(0, NativeDiskimg.Run("compare", "-f", "raw", "-F", format, source, target).ExitCode);
        // The compressed copy read back through our zlib/zstd decoders, converted to raw again.
        var back = dir.File("back.raw");
        NativeDiskimg.Ok("convert", "-O", "raw", target, back);
        ExternalTool.QemuImg("compare", "-f", "raw", "-F", "raw", source, back);
    }

    [Fact]
    public void Snapshot_resize_amend_match_qemu_img()
    {
        using var dir = new TempDirectory();
        var image = dir.File("s.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "32M");
        ExternalTool.QemuIo("-c", "write -P 0x11 0 1M", image);

        NativeDiskimg.Ok("snapshot", "-c", "before", image);
        ExternalTool.QemuIo("-c", "write -P 0x22 0 1M", image);
        Assert.Equal(ExternalTool.QemuImg("snapshot", "-l", image), NativeDiskimg.Ok("snapshot", "-l", image));
        NativeDiskimg.Ok("snapshot", "-a", "before", image);
        Assert.Contains("read 1048576/1048576 bytes", ExternalTool.QemuIo("-c", "read -P 0x11 0 1M", image), StringComparison.Ordinal);

        NativeDiskimg.Ok("resize", image, "+16M");
        NativeDiskimg.Ok("amend", "-o", "refcount_bits=64", image);
        ExternalTool.QemuImg("check", image);
        var info = ExternalTool.QemuImg("info", "--output=json", image);
        Assert.Contains("\"virtual-size\": 50331648", info, StringComparison.Ordinal);
        Assert.Contains("\"refcount-bits\": 64", info, StringComparison.Ordinal);
        NativeDiskimg.Ok("snapshot", "-d", "before", image);
        Assert.Equal("", ExternalTool.QemuImg("snapshot", "-l", image));
    }

    [Fact]
    public void Bitmap_verb_tracking_and_incremental_convert_match_qemu()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        NativeDiskimg.Ok("create", "-q", "-f", "qcow2", image, "32M");
        NativeDiskimg.Ok("io", "-c", "write -P 0x11 0 4M", image);
        NativeDiskimg.Ok("convert", "-O", "qcow2", image, dir.File("full.qcow2"));
        NativeDiskimg.Ok("bitmap", "--add", "-g", "4096", image, "a");
        NativeDiskimg.Ok("bitmap", "--add", "--disable", image, "b");
        NativeDiskimg.Ok("io", "-c", "write -P 0x22 1M 6k", "-c", "write -z 20M 64k", image);
        NativeDiskimg.Ok("bitmap", "--merge", "a", "--enable", image, "b");

        ExternalTool.QemuImg("check", image);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", image), NativeDiskimg.Ok("info", "--output=json", image));
        Assert.Equal([256L, 257, 5120, 5121, 5122, 5123, 5124, 5125, 5126, 5127, 5128, 5129, 5130, 5131, 5132, 5133, 5134, 5135],
            Bitmaps.DirtyRanges.Read(image, "a", 4096));
        Assert.Equal([16L, 320], Bitmaps.DirtyRanges.Read(image, "b", 65536));

        // The incremental over the full copy reads as the image and holds only the dirty clusters.
        NativeDiskimg.Ok("convert", "--bitmap", "b", "-B", "full.qcow2", "-F", "qcow2", "-O", "qcow2", image, dir.File("inc.qcow2"));
        ExternalTool.QemuImg("check", dir.File("inc.qcow2"));
        Assert.Contains("Images are identical.", ExternalTool.QemuImg("compare", image, dir.File("inc.qcow2")), StringComparison.Ordinal);
        Assert.Contains("\"depth\": 0, \"present\": true", ExternalTool.QemuImg("map", "--output=json", dir.File("inc.qcow2")), StringComparison.Ordinal);

        NativeDiskimg.Ok("bitmap", "--remove", image, "a");
        NativeDiskimg.Ok("bitmap", "--clear", image, "b");
        var refused = NativeDiskimg.Run("bitmap", "--remove", image, "a");
        var theirs = ExternalTool.Run("qemu-img", "bitmap", "--remove", image, "a");
        Assert.Equal(theirs.ExitCode, refused.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), refused.StdErr);
        Assert.Equal(ExternalTool.QemuImg("info", image), NativeDiskimg.Ok("info", image));
    }

    [Fact]
    public void Rebase_and_commit_give_qemu_img_s_content()
    {
        using var dir = new TempDirectory();
        var baseImage = dir.File("base.qcow2");
        var other = dir.File("other.qcow2");
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", baseImage, "16M");
        ExternalTool.QemuIo("-c", "write -P 0x33 0 2M", baseImage);
        ExternalTool.QemuImg("convert", "-O", "qcow2", baseImage, other);
        NativeDiskimg.Ok("create", "-q", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", overlay);
        ExternalTool.QemuIo("-c", "write -P 0x44 1M 1M", overlay);

        NativeDiskimg.Ok("rebase", "-b", other, "-F", "qcow2", overlay);
        Assert.Contains("\"backing-filename\": \"" + other + "\"", ExternalTool.QemuImg("info", "--output=json", overlay), StringComparison.Ordinal);
        NativeDiskimg.Ok("commit", overlay);

        ExternalTool.QemuImg("check", other);
        Assert.Contains("read 1048576/1048576 bytes", ExternalTool.QemuIo("-c", "read -P 0x33 0 1M", "-c", "read -P 0x44 1M 1M", other), StringComparison.Ordinal);
        Assert.DoesNotContain("Pattern verification failed", ExternalTool.QemuIo("-c", "read -P 0x33 0 1M", "-c", "read -P 0x44 1M 1M", other), StringComparison.Ordinal);
    }

    [Fact]
    public void Dd_and_bench_run_as_qemu_img_s()
    {
        using var dir = new TempDirectory();
        var source = MakeSource(dir);
        var copy = dir.File("dd.raw");

        NativeDiskimg.Ok("dd", "-f", "raw", "-O", "raw", "bs=64k", "count=16", "if=" + source, "of=" + copy);
        Assert.Equal(File.ReadAllBytes(source)[..(1 << 20)], File.ReadAllBytes(copy));

        string[] bench = ["bench", "-f", "raw", "-c", "200", "-d", "4", "-s", "4k", source];
        var theirs = ExternalTool.QemuImg(bench);
        var ours = NativeDiskimg.Ok(bench);
        // The first line says what runs; the last holds the time, which differs.
        Assert.Equal(theirs.Split('\n')[0], ours.Split('\n')[0]);
        Assert.StartsWith("Run completed in ", ours.Trim().Split('\n')[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Encrypted_image_made_natively_opens_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var secretFile = dir.File("pass.txt");
        File.WriteAllText(secretFile, "native-secret");
        var image = dir.File("luks.qcow2");
        var secret = "secret,id=sec0,file=" + secretFile;

        NativeDiskimg.Ok("create", "-q", "--object", secret, "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", image, "8M");
        NativeDiskimg.Ok("io", "--object", secret, "--image-opts", "-c", "write -P 0x77 0 1M", $"driver=qcow2,file.filename={image},encrypt.key-secret=sec0");

        var read = ExternalTool.QemuIo("--object", secret, "--image-opts", "-c", "read -P 0x77 0 1M", $"driver=qcow2,file.filename={image},encrypt.key-secret=sec0");
        Assert.Contains("read 1048576/1048576 bytes", read, StringComparison.Ordinal);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
    }

    [Fact]
    public void Iso_verbs_match_the_in_process_run_and_the_files_put_in()
    {
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "sub", "Long File Name.txt"), "hello from the native build\n");
        var iso = dir.File("t.iso");
        var seed = dir.File("seed.iso");
        File.WriteAllText(dir.File("user-data"), "#cloud-config\n");
        File.WriteAllText(dir.File("meta-data"), "instance-id: native\n");

        NativeDiskimg.Ok("iso", "create", "-o", iso, "-V", "NATIVE", "-J", "-r", "--source-date-epoch", "1700000000", tree);
        NativeDiskimg.Ok("iso", "cloud-init", "-o", seed, "--user-data", dir.File("user-data"), "--meta-data", dir.File("meta-data"));

        foreach (var image in new[] { iso, seed })
        {
            Assert.Equal(Diskimg.Ok("iso", "ls", "-R", "--output=json", image), NativeDiskimg.Ok("iso", "ls", "-R", "--output=json", image));
        }

        Assert.Equal(ExternalTool.QemuImg("info", "-f", "raw", iso).Replace("qemu-img", "diskimg", StringComparison.Ordinal).Split('\n')[0],
            NativeDiskimg.Ok("info", "-f", "raw", iso).Split('\n')[0]);
        var unpacked = dir.File("unpacked");
        NativeDiskimg.Ok("iso", "extract", iso, "-C", unpacked);
        Assert.Equal("hello from the native build\n", File.ReadAllText(Path.Combine(unpacked, "sub", "Long File Name.txt")));
    }

    [Fact]
    public void Errors_are_one_line_with_qemu_img_s_exit_code()
    {
        using var dir = new TempDirectory();
        var missing = dir.File("missing.qcow2");

        var theirs = ExternalTool.Run("qemu-img", "info", missing);
        var ours = NativeDiskimg.Run("info", missing);

        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Trim().Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr.Trim());
        Assert.NotEqual(0, NativeDiskimg.Run("no-such-verb").ExitCode);
    }

    private static string MakeSource(TempDirectory dir)
    {
        // 4 MiB: text that compresses, random bytes that do not, and a hole.
        var source = dir.File("src.raw");
        var data = new byte[4 << 20];
        var text = "a log line that repeats with a counter "u8.ToArray();
        for (var i = 0; i < 1 << 20; i++)
        {
            data[i] = (byte)(text[i % text.Length] + (i / 4096 % 7));
        }

        new Random(12).NextBytes(data.AsSpan(1 << 20, 1 << 20));
        File.WriteAllBytes(source, data);
        return source;
    }

    private static bool Contains(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
