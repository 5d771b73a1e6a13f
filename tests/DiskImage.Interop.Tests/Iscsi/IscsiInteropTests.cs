using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iscsi;

/// <summary>
/// The iscsi protocol driver against a live tgtd, compared with qemu-img/qemu-io 7.2 (whose libiscsi-based driver is
/// the judge): the same command lines on the same LUN give the same stdout, stderr and exit code, and where a command
/// writes, the LUN is reset before each run and must hold the same bytes after both.
/// </summary>
public class IscsiInteropTests(TgtTarget target) : IClassFixture<TgtTarget>
{
    private static void AssertSame(ExternalTool.Result theirs, ExternalTool.Result ours, string what)
    {
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{what}: qemu exit {theirs.ExitCode} ({theirs.StdErr}), diskimg {ours.ExitCode} ({ours.StdErr})");
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
    }

    /// <summary>Runs the line with qemu-img (or qemu-io for <c>io</c>) and diskimg, each on the LUN as <paramref name="seed"/> left it; the LUN's bytes must match after both.</summary>
    private void Same(byte[]? seed, params string[] arguments)
    {
        var qemu = arguments[0] == "io" ? ("qemu-io", arguments[1..]) : ("qemu-img", arguments);
        if (seed is not null)
        {
            File.WriteAllBytes(target.OpenLun, seed);
        }

        var theirs = ExternalTool.Run(qemu.Item1, qemu.Item2);
        var theirBytes = File.ReadAllBytes(target.OpenLun);
        if (seed is not null)
        {
            File.WriteAllBytes(target.OpenLun, seed);
        }

        AssertSame(theirs, Diskimg.Run(arguments), string.Join(' ', arguments));
        Assert.True(theirBytes.AsSpan().SequenceEqual(File.ReadAllBytes(target.OpenLun)), "LUN bytes after " + string.Join(' ', arguments));
    }

    /// <summary>An 8 MiB LUN with a pattern at 1 MiB and random bytes at 3 MiB.</summary>
    private static byte[] Seed()
    {
        var bytes = new byte[8 << 20];
        bytes.AsSpan(1 << 20, 64 << 10).Fill(0x5a);
        new Random(7).NextBytes(bytes.AsSpan(3 << 20, 1 << 20));
        return bytes;
    }

    private string Json(string extra = "") =>
        $"\"driver\":\"iscsi\",\"transport\":\"tcp\",\"portal\":\"127.0.0.1:{target.Port}\",\"target\":\"{TgtTarget.OpenIqn}\",\"lun\":1{extra}";

    [Fact]
    public void Info_map_reads_and_copies_from_a_lun_match_qemu_in_every_form()
    {
        var seed = Seed();
        File.WriteAllBytes(target.OpenLun, seed);
        var url = target.Url();
        foreach (var name in new[] { url, $"json:{{\"driver\":\"raw\",\"file\":{{{Json()}}}}}", $"json:{{\"file\":{{{Json(",\"timeout\":5,\"header-digest\":\"none\"")}}}}}" })
        {
            Same(null, "info", name);
            Same(null, "info", "--output=json", name);
            Same(null, "map", name);
            Same(null, "map", "--output=json", name);
            Same(null, "io", "-c", "read -P 0x5a 1M 64k", "-c", "read -v 3M 48", "-c", "read -P 0 0 4k", name);
        }

        Same(null, "info", "-f", "iscsi", url);
        Same(null, "info", "--image-opts", $"driver=iscsi,transport=tcp,portal=127.0.0.1:{target.Port},target={TgtTarget.OpenIqn},lun=1");
        Same(null, "info", "--image-opts", $"driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:{target.Port},file.target={TgtTarget.OpenIqn},file.lun=1");
        Same(null, "measure", "-O", "qcow2", url);
        Same(null, "check", url);

        var copy = Path.Combine(target.Directory, "copy.raw");
        Same(null, "convert", "-O", "raw", url, copy);
        Assert.Equal(seed, File.ReadAllBytes(copy));
        Same(null, "compare", copy, url);
        File.WriteAllBytes(copy, new byte[8 << 20]);
        Same(null, "compare", copy, url);
    }

    [Fact]
    public void Writes_onto_a_lun_leave_qemu_s_bytes()
    {
        var seed = Seed();
        var url = target.Url();
        Same(seed, "io", "-f", "raw", "-c", "write -P 0xab 0 64k", "-c", "write -P 0xcd 1000 3000", "-c", "read -P 0xcd 1000 3000", "-c", "flush", url);
        Same(seed, "io", "-c", "write -P 0xab 0 64k", url);
        Same(seed, "io", "-f", "raw", "-c", "discard 0 1M", "-c", "write -z 1M 1M", "-c", "write -z -u 3M 64k", "-c", "write -P 1 8M 512", url);
        var source = Path.Combine(target.Directory, "source.raw");
        File.WriteAllBytes(source, [.. Enumerable.Range(0, 2 << 20).Select(i => (byte)(i * 7))]);
        Same(seed, "convert", "-n", "-O", "raw", source, url);
        Same(seed, "convert", "-n", "-f", "raw", "-O", "raw", source, url);
        // A raw image "created" on the LUN is its old bytes: the source's zeroes must be written over them.
        var sparse = Path.Combine(target.Directory, "sparse.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", sparse, "6M");
        ExternalTool.QemuIo("-c", "write -P 0x44 0 64k", sparse);
        Same(seed, "convert", "-O", "raw", sparse, url);
        Same(seed, "convert", "-O", "qcow2", sparse, url);
        Same(seed, "dd", "-O", "raw", $"if={sparse}", $"of={url}");
        Same(seed, "resize", "-f", "raw", url, "4M");
        Same(seed, "create", "-f", "raw", url, "4M");
        Same(seed, "create", "-f", "raw", url, "16M");
        Same(seed, "create", "-f", "qcow2", "-o", "preallocation=metadata", url, "4M");
    }

    [Fact]
    public void A_qcow2_image_on_a_lun_is_one_qemu_img_accepts()
    {
        var url = target.Url();
        File.WriteAllBytes(target.OpenLun, Seed());
        Same(null, "create", "-f", "qcow2", url, "16M");
        Same(null, "io", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x22 5M 64k", url);
        Same(null, "info", url);
        Same(null, "map", url);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", url).ExitCode);
        var copy = Path.Combine(target.Directory, "from-lun.qcow2");
        Same(null, "convert", "-O", "qcow2", url, copy);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", copy, url).ExitCode);
        Same(null, "compare", copy, url);
    }

    [Fact]
    public void A_thin_lun_maps_unmaps_and_zeroes_as_qemu_does()
    {
        var url = target.Url(TgtTarget.ThinIqn);
        string[][] lines =
        [
            ["map", url],
            ["map", "--output=json", url],
            ["io", "-f", "raw", "-c", "discard 640k 64k", "-c", "write -z -u 768k 64k", "-c", "write -z 832k 4k", "-c", "read -P 0 640k 64k", url],
        ];
        foreach (var line in lines)
        {
            var (tool, arguments) = line[0] == "io" ? ("qemu-io", line[1..]) : ("qemu-img", line);
            Sparse(target.ThinLun);
            var theirs = ExternalTool.Run(tool, arguments);
            var theirMap = ExternalTool.Run("qemu-img", "map", "--output=json", url).StdOut;
            var theirBytes = File.ReadAllBytes(target.ThinLun);
            Sparse(target.ThinLun);
            AssertSame(theirs, Diskimg.Run(line), string.Join(' ', line));
            Assert.Equal(theirMap, ExternalTool.Run("qemu-img", "map", "--output=json", url).StdOut);
            Assert.Equal(theirBytes, File.ReadAllBytes(target.ThinLun));
        }
    }

    /// <summary>A 4 MiB sparse file with data only at 640 KiB-896 KiB.</summary>
    private static void Sparse(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength(4 << 20);
        file.Position = 640 << 10;
        var data = new byte[256 << 10];
        new Random(3).NextBytes(data);
        file.Write(data);
    }

    [Fact]
    public void Refusals_name_what_qemu_names()
    {
        var port = target.Port;
        string[] names =
        [
            target.Url("iqn.2026-12.test:missing"),
            target.Url(lun: 3),
            target.Url(lun: 0),
            $"iscsi://127.0.0.1:{Loopback.FreePort()}/{TgtTarget.OpenIqn}/1",
            $"iscsi://127.0.0.1:{port}/{TgtTarget.OpenIqn}/",
            $"iscsi://127.0.0.1:{port}/{TgtTarget.OpenIqn}/x",
            $"iscsi://127.0.0.1:{port}//1",
            $"iser://127.0.0.1:{port}/{TgtTarget.OpenIqn}/1",
            $"json:{{\"driver\":\"iscsi\",\"transport\":\"tcp\",\"portal\":\"127.0.0.1:{port}\"}}",
            $"json:{{\"driver\":\"iscsi\",\"transport\":\"udp\",\"portal\":\"127.0.0.1:{port}\",\"target\":\"x\"}}",
            $"json:{{{Json(",\"header-digest\":\"md5\"")}}}",
            $"json:{{{Json(",\"bogus\":1")}}}",
            $"json:{{{Json(",\"user\":\"u\"")}}}",
        ];
        foreach (var name in names)
        {
            Same(null, "info", name);
        }

        // Creation onto a LUN that does not open is QEMU's fallback failure, for every format.
        var missing = target.Url(lun: 3);
        Same(null, "create", "-f", "raw", missing, "4M");
        Same(null, "create", "-f", "qcow2", missing, "4M");
        Same(null, "create", "-f", "iscsi", missing, "4M");
    }

    [Fact]
    public void Chap_logs_in_with_the_right_secret_only()
    {
        var chap = $"\"driver\":\"iscsi\",\"transport\":\"tcp\",\"portal\":\"127.0.0.1:{target.Port}\",\"target\":\"{TgtTarget.ChapIqn}\",\"lun\":1,\"user\":\"{TgtTarget.ChapUser}\"";
        Same(null, "info", target.Url(TgtTarget.ChapIqn));
        Same(null, "info", target.Url(TgtTarget.ChapIqn, credentials: $"{TgtTarget.ChapUser}%{TgtTarget.ChapPassword}"));
        Same(null, "info", target.Url(TgtTarget.ChapIqn, credentials: $"{TgtTarget.ChapUser}%wrong"));
        Same(null, "info", "--object", $"secret,id=s0,data={TgtTarget.ChapPassword}", $"json:{{{chap},\"password-secret\":\"s0\"}}");
        Same(null, "info", "--object", $"secret,id=s0,data={TgtTarget.ChapPassword}", $"json:{{{chap},\"password-secret\":\"s0\",\"password\":\"x\"}}");
        Same(null, "io", "-c", "read -P 0 0 64k", $"json:{{\"driver\":\"raw\",\"file\":{{{chap},\"password\":\"{TgtTarget.ChapPassword}\"}}}}");
    }

}
