using System.Diagnostics;
using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Ssh;

/// <summary>
/// A new convert or dd target on the server is whole or absent: it is built under a temporary name beside the
/// target and renamed into place when whole, so a diskimg killed mid-copy leaves nothing at the target's name (only
/// the temporary, which a SIGKILL gives no chance to remove), and an interrupted one removes its temporary too.
/// What the finished commands print and write is compared with qemu-img's in the other tests of the class.
/// </summary>
public partial class SshInteropTests
{
    private static readonly TimeSpan s_killLimit = TimeSpan.FromSeconds(60);

    /// <summary>A local raw image of random data, large enough that copying it over SFTP takes a while.</summary>
    private string RandomSource(string name)
    {
        var path = Local(name);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(64 << 20));
        return path;
    }

    private string[] Temporaries(string directory, string name) =>
        Directory.GetFiles(directory, $".{name}{PartialOutput.Marker}*");

    /// <summary>Starts <paramref name="arguments"/> as a process and sends <paramref name="signal"/> once the temporary for <paramref name="name"/> exists.</summary>
    private ExternalTool.Result SignalWhenStaged(string directory, string name, int signal, params string[] arguments)
    {
        using var process = DiskimgProcess.Start(server.Directory, onTerminal: false, arguments);
        var clock = Stopwatch.StartNew();
        while (Temporaries(directory, name).Length == 0)
        {
            Assert.False(process.HasExited, "diskimg finished before its temporary was seen");
            Assert.True(clock.Elapsed < s_killLimit, "no temporary appeared on the server");
            Thread.Sleep(5);
        }

        Assert.False(File.Exists(Path.Combine(directory, name)), "the target's name was taken while the copy ran");
        process.Signal(signal);
        return process.WaitForExit(s_killLimit);
    }

    [Theory]
    [InlineData("convert", DiskimgProcess.SIGKILL)]
    [InlineData("convert", DiskimgProcess.SIGINT)]
    [InlineData("dd", DiskimgProcess.SIGKILL)]
    public void A_copy_to_the_server_stopped_midway_leaves_nothing_at_the_targets_name(string verb, int signal)
    {
        var source = RandomSource($"staged-{verb}-{signal}.raw");
        var sourceHash = SHA256.HashData(File.ReadAllBytes(source));
        var name = $"staged-{verb}-{signal}.qcow2";
        string[] arguments = verb == "convert"
            ? ["convert", "-O", "qcow2", source, server.Uri(name)]
            : ["dd", "-f", "raw", "-O", "qcow2", "bs=1M", "if=" + source, "of=" + server.Uri(name)];

        var run = SignalWhenStaged(server.Directory, name, signal, arguments);

        Assert.NotEqual(0, run.ExitCode);
        if (signal == DiskimgProcess.SIGKILL)
        {
            // Killed mid-copy, with no chance to clean up: the temporary stays, the target's name stays free.
            Assert.Equal(128 + DiskimgProcess.SIGKILL, run.ExitCode);
            Assert.NotEmpty(Temporaries(server.Directory, name));
        }

        Assert.False(File.Exists(Local(name)), $"{verb} stopped by signal {signal} left a file at the target's name");
        Assert.Equal(sourceHash, SHA256.HashData(File.ReadAllBytes(source)));
        if (signal == DiskimgProcess.SIGINT)
        {
            Assert.Empty(Temporaries(server.Directory, name));
        }

        // The next run completes, and its image is what qemu-img reads back as the source.
        foreach (var temporary in Temporaries(server.Directory, name))
        {
            File.Delete(temporary);
        }

        Assert.Equal(0, Diskimg.Run(arguments).ExitCode);
        Assert.Empty(Temporaries(server.Directory, name));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", source, Local(name)).ExitCode);
        File.Delete(source);
        File.Delete(Local(name));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Converting_over_an_existing_file_on_the_server_replaces_it_whole_and_keeps_its_mode()
    {
        var source = Image("replace-source.qcow2", "qcow2", "1M", "write -P 0x3c 0 64k");
        var target = Local("replace.raw");
        File.WriteAllBytes(target, new byte[3 << 20]);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        string[] arguments = ["convert", "-O", "raw", source, server.Uri("replace.raw")];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var theirBytes = File.ReadAllBytes(target);
        File.WriteAllBytes(target, new byte[3 << 20]);

        AssertSame(theirs, Diskimg.Run(arguments), "convert over an existing file");
        Assert.Equal(theirBytes, File.ReadAllBytes(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(target));
        Assert.Empty(Temporaries(server.Directory, "replace.raw"));
        Same("info", server.Uri("replace.raw"));
    }

    [Fact]
    public void A_vmdk_with_an_extent_file_that_the_server_cannot_make_leaves_no_descriptor()
    {
        // qemu-img 7.2 fails this convert (its vmdk creator cuts the descriptor file, which the ssh driver refuses)
        // and leaves the descriptor and the extent; diskimg fails alike and leaves no descriptor nor temporary.
        var source = Image("flat-source.qcow2", "qcow2", "2M", "write -P 0x7e 0 96k");
        string[] arguments = ["convert", "-O", "vmdk", "-o", "subformat=monolithicFlat", source, server.Uri("flat.vmdk")];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        Assert.True(File.Exists(Local("flat.vmdk")));
        File.Delete(Local("flat.vmdk"));
        File.Delete(Local("flat-flat.vmdk"));

        var ours = Diskimg.Run(arguments);
        Assert.Equal(1, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        const string Refusal = ": error while converting vmdk: ssh driver does not support shrinking files";
        Assert.EndsWith(Refusal, theirs.StdErr.Trim(), StringComparison.Ordinal);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        Assert.False(File.Exists(Local("flat.vmdk")), "the failed convert left a descriptor at the target's name");
        Assert.Empty(Temporaries(server.Directory, "flat.vmdk"));
    }
}
