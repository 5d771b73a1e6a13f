using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// qemu-nbd's server options, each judged by running <c>qemu-nbd</c> with the same options on the same image:
/// what libnbd's <c>nbdinfo</c> reads from the handshake (transmission flags, block sizes, contexts), what
/// <c>--discard</c> and <c>--detect-zeroes</c> do to the image, the option replies a raw client gets,
/// <c>--fork</c> with <c>--pid-file</c>, and systemd socket activation.
/// </summary>
public partial class NbdServerOptionsTests
{
    public static TheoryData<string[]> FlagOptions() => new()
    {
        { [] },
        { ["-r"] },
        { ["-e", "2"] },
        { ["-e", "0", "-r"] },
        { ["-e", "3", "-r"] },
        { ["--discard=unmap"] },
        { ["--detect-zeroes=on"] },
        { ["--discard=unmap", "--detect-zeroes=unmap"] },
        { ["--cache=writethrough"] },
        { ["--cache=unsafe"] },
        { ["-A", "-x", "disk", "-D", "a disk"] },
    };

    /// <summary>Transmission flags (read-only, multi-conn, trim, zero, fua, ...), sizes and contexts, as libnbd reads them.</summary>
    [Theory]
    [MemberData(nameof(FlagOptions))]
    public void Nbdinfo_reads_the_same_flags_as_from_qemu_nbd(string[] options)
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x61 0 64k", image);
        var export = options.Contains("-x") ? "disk" : "";
        string Info(NbdProcess server) => ExternalTool.Run("nbdinfo", "--json", server.Uri(export)).EnsureSuccess("nbdinfo --json").StdOut
            .Replace(server.Socket!, "SOCKET", StringComparison.Ordinal);

        string expected;
        using (var qemu = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, [.. options, "-t", "-f", "qcow2", "-k", dir.File("q.sock"), image]))
        {
            expected = Info(qemu);
        }

        using var ours = NbdProcess.Diskimg(dir.File("d.sock"), 0, [.. options, "-t", "-f", "qcow2", "-k", dir.File("d.sock"), image]);
        Assert.Equal(expected, Info(ours));
        Assert.Contains("\"can_multi_conn\"", expected, StringComparison.Ordinal);
    }

    public static TheoryData<string[]> ZeroOptions() => new()
    {
        { [] },
        { ["--discard=unmap"] },
        { ["--detect-zeroes=on"] },
        { ["--discard=unmap", "--detect-zeroes=unmap"] },
    };

    /// <summary>Zero writes, zero data and discards from a client leave the qcow2 mapped as qemu-nbd leaves it.</summary>
    [Theory]
    [MemberData(nameof(ZeroOptions))]
    public void Discard_and_detect_zeroes_leave_the_image_as_qemu_nbd_leaves_it(string[] options)
    {
        using var dir = new TempDirectory();
        string Serve(string name, Func<string, NbdProcess> start)
        {
            var image = dir.File(name);
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "4M");
            ExternalTool.QemuIo("-c", "write -P 0x62 0 4M", image);
            using (var server = start(image))
            {
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0 0 128k", "-c", "write -z 1M 128k", "-c", "write -z -u 2M 128k",
                    "-c", "discard 3M 128k", "-c", "flush", server.Uri());
                Assert.Equal(0, server.Stop());
            }

            ExternalTool.QemuImg("check", "-f", "qcow2", image);
            return ExternalTool.QemuImg("map", "--output=json", "-f", "qcow2", image);
        }

        var expected = Serve("q.qcow2", image => NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, [.. options, "-t", "-f", "qcow2", "-k", dir.File("q.sock"), image]));
        var actual = Serve("d.qcow2", image => NbdProcess.Diskimg(dir.File("d.sock"), 0, [.. options, "-t", "-f", "qcow2", "-k", dir.File("d.sock"), image]));
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// The option phase, option by option: LIST, INFO (present and missing export), STRUCTURED_REPLY, LIST_META_CONTEXT,
    /// STARTTLS without TLS, an unknown option, and ABORT. Reply types agree with qemu-nbd's, and so does the data of
    /// every reply that is not an error (error replies carry a free-form message).
    /// </summary>
    [Fact]
    public void Option_replies_match_qemu_nbd()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "3M");
        string[] options = ["-t", "-r", "-e", "2", "-x", "vol", "-D", "the volume", "-f", "raw"];

        List<string> Replies(NbdProcess server)
        {
            var seen = new List<string>();
            using var s = server.Connect();
            NbdHostileClientTests.ReadGreeting(s);
            NbdHostileClientTests.SendU32(s, 3);

            void Exchange(string what, uint option, byte[] data)
            {
                NbdHostileClientTests.SendOption(s, option, data);
                while (true)
                {
                    var (replyTo, type, payload) = NbdHostileClientTests.ReadOptionReply(s);
                    Assert.Equal(option, replyTo);
                    seen.Add($"{what}: {type:x8} {(type >= 0x80000000 ? "(error)" : Convert.ToHexString(payload))}");
                    if (type != 2 && type != 3 && type != 4)
                    {
                        // Everything but SERVER, INFO and META_CONTEXT ends the option's replies.
                        return;
                    }
                }
            }

            Exchange("LIST", 3, []);
            Exchange("INFO vol", 6, InfoRequest("vol", [0, 1, 2, 3]));
            Exchange("INFO missing", 6, InfoRequest("missing", []));
            Exchange("STRUCTURED_REPLY", 8, []);
            Exchange("LIST_META_CONTEXT", 9, MetaRequest("vol", "base:"));
            Exchange("SET_META_CONTEXT", 10, MetaRequest("vol", "base:allocation"));
            Exchange("STARTTLS", 5, []);
            Exchange("unknown", 0x7777, []);
            Exchange("ABORT", 2, []);
            seen.Add($"closed after ABORT: {NbdHostileClientTests.ClosedByServer(s)}");
            return seen;
        }

        List<string> expected;
        using (var qemu = NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, [.. options, "-k", dir.File("q.sock"), image]))
        {
            expected = Replies(qemu);
        }

        using var ours = NbdProcess.Diskimg(dir.File("d.sock"), 0, [.. options, "-k", dir.File("d.sock"), image]);
        Assert.Equal(expected, Replies(ours));
        Assert.False(ours.HasExited);
    }

    private static byte[] InfoRequest(string name, ushort[] infos)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(name);
        var data = new byte[4 + bytes.Length + 2 + (2 * infos.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)bytes.Length);
        bytes.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(4 + bytes.Length), (ushort)infos.Length);
        for (var i = 0; i < infos.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(6 + bytes.Length + (2 * i)), infos[i]);
        }

        return data;
    }

    private static byte[] MetaRequest(string export, string query)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(export);
        var q = System.Text.Encoding.UTF8.GetBytes(query);
        var data = new byte[4 + name.Length + 4 + 4 + q.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4 + name.Length), 1);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8 + name.Length), (uint)q.Length);
        q.CopyTo(data, 12 + name.Length);
        return data;
    }

    /// <summary>
    /// <c>--fork --pid-file</c>: the command returns once the server listens, without holding the caller's output
    /// open; the pid file names the server, which serves and stops on SIGTERM. Checked on qemu-nbd first.
    /// </summary>
    [Fact]
    public void Fork_returns_once_listening_and_the_pid_file_names_the_server()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x63 0 64k", image);
        foreach (var server in new[] { "qemu-nbd", "diskimg" })
        {
            var socket = dir.File(server + ".sock");
            var pidFile = dir.File(server + ".pid");
            string[] arguments = ["--fork", "--pid-file", pidFile, "-t", "-f", "raw", "-k", socket, image];
            var started = server == "qemu-nbd" ? Bounded(ExternalTool.Require("qemu-nbd"), arguments) : Bounded(DotnetHost(), [DiskimgDll(), "nbd", .. arguments]);
            Assert.True(started.ExitCode == 0, $"{server}: exit {started.ExitCode}: {started.StdErr}");
            Assert.True(File.Exists(socket), $"{server}: not listening when --fork returned");
            var pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
            using var process = Process.GetProcessById(pid);
            try
            {
                var read = ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0x63 0 64k", $"nbd+unix:///?socket={socket}");
                Assert.Contains("read 65536/65536", read, StringComparison.Ordinal);
                ExternalTool.Run("kill", "-TERM", pid.ToString(CultureInfo.InvariantCulture)).EnsureSuccess("kill");
                Assert.True(process.WaitForExit(30000), $"{server}: did not stop on SIGTERM");
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }
            }
        }
    }

    /// <summary>systemd socket activation: the inherited listening socket is served; -k beside it is refused in qemu-nbd's words.</summary>
    [Fact]
    public void Socket_activation_serves_the_inherited_socket_as_qemu_nbd_does()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x64 0 64k", image);
        foreach (var server in new[] { "qemu-nbd", "diskimg" })
        {
            string[] Command(params string[] options) => server == "qemu-nbd"
                ? [ExternalTool.Require("qemu-nbd"), .. options, "-f", "raw", image]
                : [DotnetHost(), DiskimgDll(), "nbd", .. options, "-f", "raw", image];

            var socket = dir.File(server + ".sock");
            using (var activated = Activate(socket, Command("-t", "-r")))
            {
                var read = ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0x64 0 64k", $"nbd+unix:///?socket={socket}");
                Assert.Contains("read 65536/65536", read, StringComparison.Ordinal);
                var again = ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0 64k 64k", $"nbd+unix:///?socket={socket}");
                Assert.Contains("read 65536/65536", again, StringComparison.Ordinal);
            }

            // -k with an inherited socket: the server exits with qemu-nbd's message once activated.
            var refusedSocket = dir.File(server + "-refused.sock");
            using var refused = Activate(refusedSocket, Command("-k", dir.File("other.sock")));
            using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                probe.Connect(new UnixDomainSocketEndPoint(refusedSocket));
            }

            Assert.True(refused.Process.WaitForExit(60000), $"{server}: did not exit");
            Assert.Equal(1, refused.Process.ExitCode);
            Assert.Equal("Unix socket can't be set when using socket activation",
                refused.Errors().Trim().Replace("qemu-nbd: ", "", StringComparison.Ordinal).Replace("diskimg: ", "", StringComparison.Ordinal)
                    .Split('\n').Last(l => l.Length > 0 && !l.StartsWith("Listening", StringComparison.Ordinal)
                        && !l.StartsWith("Communication", StringComparison.Ordinal) && !l.StartsWith("Execing", StringComparison.Ordinal)));
        }
    }

    /// <summary>
    /// An encrypted qcow2 opened with <c>--object secret</c> and <c>--image-opts</c> is served decrypted: a client
    /// writes and reads plain data, and the image (checked with the key by qemu-img) holds it, as with qemu-nbd.
    /// </summary>
    [Fact]
    public void An_encrypted_qcow2_is_served_decrypted_as_qemu_nbd_serves_it()
    {
        using var dir = new TempDirectory();
        string Serve(string name, Func<string[], NbdProcess> start)
        {
            var image = dir.File(name);
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "--object", "secret,id=s0,data=pw", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", image, "4M");
            string[] options = ["--object", "secret,id=s0,data=pw", "--image-opts", $"driver=qcow2,file.filename={image},encrypt.key-secret=s0"];
            using (var server = start(options))
            {
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x5e 0 64k", "-c", "write -P 0x5f 1M 4k", "-c", "flush", server.Uri());
                var read = ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0x5e 0 64k", "-c", "read -P 0x5f 1M 4k", "-c", "read -P 0 2M 64k", server.Uri());
                Assert.DoesNotContain("fail", read, StringComparison.Ordinal);
                Assert.Equal(0, server.Stop());
            }

            ExternalTool.QemuImg("check", "--object", "secret,id=s0,data=pw", "--image-opts", $"driver=qcow2,file.filename={image},encrypt.key-secret=s0");
            var direct = ExternalTool.QemuIo("--object", "secret,id=s0,data=pw", "-r", "-c", "read -P 0x5e 0 64k", "-c", "read -P 0x5f 1M 4k",
                "--image-opts", $"driver=qcow2,file.filename={image},encrypt.key-secret=s0");
            Assert.DoesNotContain("fail", direct, StringComparison.Ordinal);

            // The bytes on disk are not the plain pattern.
            Assert.DoesNotContain(new string('^', 64), System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(image)), StringComparison.Ordinal);
            return ExternalTool.QemuImg("map", "--output=json", "--object", "secret,id=s0,data=pw", "--image-opts", $"driver=qcow2,file.filename={image},encrypt.key-secret=s0");
        }

        var expected = Serve("q.qcow2", o => NbdProcess.Tool("qemu-nbd", dir.File("q.sock"), 0, [.. o, "-t", "-k", dir.File("q.sock")]));
        var actual = Serve("d.qcow2", o => NbdProcess.Diskimg(dir.File("d.sock"), 0, [.. o, "-t", "-k", dir.File("d.sock")]));
        Assert.Equal(HostOffset().Replace(expected, "OFFSET"), HostOffset().Replace(actual, "OFFSET"));
    }

    /// <summary>Without -b the server listens on loopback only (qemu-nbd: every address), and --help says so; -b chooses.</summary>
    [Fact]
    public void The_default_address_is_loopback_and_help_says_how_qemu_nbd_differs()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        var port = Loopback.FreePort();
        var portText = port.ToString(CultureInfo.InvariantCulture);
        using (NbdProcess.Diskimg(null, port, "-t", "-r", "-f", "raw", "-p", portText, image))
        {
            var bound = Listeners(port);
            Assert.Equal([IPAddress.Loopback], bound);
        }

        port = Loopback.FreePort();
        portText = port.ToString(CultureInfo.InvariantCulture);
        using (NbdProcess.Diskimg(null, port, "-t", "-r", "-f", "raw", "-b", "0.0.0.0", "-p", portText, image))
        {
            Assert.Equal([IPAddress.Any], Listeners(port));
        }

        var help = Diskimg.Run("nbd", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("127.0.0.1", help.StdOut, StringComparison.Ordinal);
        Assert.Contains("qemu-nbd listens on every address", help.StdOut, StringComparison.Ordinal);
    }

    [GeneratedRegex("\"offset\": [0-9]+")]
    private static partial Regex HostOffset();

    private static IPAddress[] Listeners(int port) =>
        [.. IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpListeners().Where(e => e.Port == port).Select(e => e.Address)];

    private sealed record Activated(Process Process, Task<string> StdErr) : IDisposable
    {
        /// <summary>Everything written to standard error (once the process has exited).</summary>
        public string Errors() => StdErr.Result;

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10000);
            }

            Process.Dispose();
        }
    }

    /// <summary><c>systemd-socket-activate -l SOCKET COMMAND</c>, started once the socket exists.</summary>
    private static Activated Activate(string socket, string[] command)
    {
        var info = new ProcessStartInfo(ExternalTool.Require("systemd-socket-activate"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-l");
        info.ArgumentList.Add(socket);
        foreach (var part in command)
        {
            info.ArgumentList.Add(part);
        }

        var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        while (!File.Exists(socket) && watch.Elapsed < TimeSpan.FromSeconds(30) && !process.HasExited)
        {
            Thread.Sleep(50);
        }

        return new Activated(process, stderr);
    }

    /// <summary>Runs a command with its output captured; fails the test if it (or anything holding its output) outlives a minute.</summary>
    private static ExternalTool.Result Bounded(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60000), $"{program} did not return");
        Assert.True(Task.WaitAll([stdout, stderr], 30000), $"{program}: its output was still held open after it returned");
        return new ExternalTool.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string DiskimgDll() => Path.Combine(AppContext.BaseDirectory, "diskimg.dll");

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : ExternalTool.Require("dotnet");
}
