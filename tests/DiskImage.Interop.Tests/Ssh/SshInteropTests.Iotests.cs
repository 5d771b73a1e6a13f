using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Ssh;

/// <summary>What QEMU's iotests met over SSH (<c>check -ssh</c>), each command compared with qemu-img/qemu-io live.</summary>
public partial class SshInteropTests
{
    private static void SameIo(params string[] arguments) =>
        AssertSame(ExternalTool.Run("qemu-io", arguments), Diskimg.Run(["io", .. arguments]), "io " + string.Join(' ', arguments));

    [Fact]
    public void Shrinking_qcow2_over_ssh_warns_that_the_tail_stays_as_qemu_does()
    {
        // 033: the qcow2 layer cuts its unused tail after a shrink; the ssh driver cannot, which is only a warning.
        foreach (var command in new[] { new[] { "io", "-f", "qcow2", "-c", "write 0 512", "-c", "write 2M 512", "-c", "truncate 1M", "-c", "read -P 0 512 512" }, ["resize", "--shrink", "-f", "qcow2"] })
        {
            var hashes = new List<byte[]>();
            var results = new List<ExternalTool.Result>();
            foreach (var qemu in new[] { true, false })
            {
                // 033's layout for qemu-io (data at 0 and 2M, then the cut); data past the new end for resize.
                var path = Image("shrink.qcow2", "qcow2", "4M", command[0] == "io" ? null : "write -P 0x11 2M 64k");
                string[] arguments = command[0] == "io" ? [.. command[1..], server.Uri("shrink.qcow2")] : [.. command, server.Uri("shrink.qcow2"), "1M"];
                results.Add(qemu ? ExternalTool.Run(command[0] == "io" ? "qemu-io" : "qemu-img", command[0] == "io" ? arguments : ["resize", .. arguments[1..]]) : Diskimg.Run(command[0] == "io" ? ["io", .. arguments] : ["resize", .. arguments[1..]]));
                // The file's length and what the guest reads; the freed clusters' old bytes are zeroed here (CONFORMANCE).
                hashes.Add(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{new FileInfo(path).Length} {ExternalTool.QemuImg("map", "--output=json", path)}")));
                var copy = Local(qemu ? "shrink-qemu.raw" : "shrink-ours.raw");
                ExternalTool.QemuImg("convert", "-O", "raw", path, copy);
            }

            AssertSame(results[0], results[1], string.Join(' ', command));
            Assert.Contains("Failed to truncate the tail of the image: ssh driver does not support shrinking files", results[1].StdErr, StringComparison.Ordinal);
            Assert.Equal(hashes[0], hashes[1]);
            Assert.Equal(File.ReadAllBytes(Local("shrink-qemu.raw")), File.ReadAllBytes(Local("shrink-ours.raw")));
        }
    }

    [Fact]
    public void Discard_over_ssh_keeps_the_bytes_as_qemus_driver_without_discard_does()
    {
        foreach (var qemu in new[] { true, false })
        {
            Image("discard.raw", "raw", "1M", "write -P 0x11 0 128k");
            string[] arguments = ["-f", "raw", "-c", "discard 0 64k", "-c", "read -P 0x11 0 128k", "-c", "write -z 64k 64k", "-c", "read -P 0 64k 64k", server.Uri("discard.raw")];
            var result = qemu ? ExternalTool.Run("qemu-io", arguments) : Diskimg.Run(["io", .. arguments]);
            Assert.Equal(0, result.ExitCode);
            Assert.DoesNotContain("Pattern verification failed", result.StdOut, StringComparison.Ordinal);
            Assert.Equal("discard 65536/65536 bytes at offset 0\nread 131072/131072 bytes at offset 0\nwrote 65536/65536 bytes at offset 65536\nread 65536/65536 bytes at offset 65536\n",
                string.Concat(result.StdOut.Split('\n').Where(l => !l.Contains("ops;", StringComparison.Ordinal) && l.Length > 0).Select(l => l + "\n")));
        }
    }

    [Fact]
    public void A_filename_option_is_a_literal_host_file_name_as_in_qemu()
    {
        // 066, 134, 158, 188 ...: the tests name the image as file.filename=ssh://..., which QEMU's file driver takes as
        // a local file of that name; a string name (or a qemu-io open with options) keeps its protocol.
        Image("literal.qcow2", "qcow2", "1M", "write -P 0x5c 0 64k");
        var uri = server.Uri("literal.qcow2");
        Same("info", "--image-opts", $"driver=qcow2,file.filename={uri}");
        Same("info", $"json:{{\"driver\":\"qcow2\",\"file\":{{\"driver\":\"blkdebug\",\"image.filename\":\"{uri}\"}}}}");
        Same("info", $"json:{{\"driver\":\"file\",\"filename\":\"{uri}\"}}");
        Same("info", $"json:{{\"file.filename\":\"file:{Local("literal.qcow2")}\"}}");
        SameIo("--image-opts", "-c", "read -P 0x5c 0 64k", $"driver=qcow2,file.filename={uri}");
        SameIo("-c", "read 0 512", $"json:{{\n    \"driver\": \"qcow2\",\n    \"file\": {{\n        \"driver\": \"blkdebug\",\n        \"image.filename\": \"{uri}\"\n    }}\n}}");
        SameIo("-c", $"open -o driver=qcow2 {uri}", "-c", "read -P 0x5c 0 64k");
        SameIo("-c", $"open -o driver=qcow2,lazy-refcounts=on {uri}", "-c", "read -P 0x5c 0 64k");
    }
}
