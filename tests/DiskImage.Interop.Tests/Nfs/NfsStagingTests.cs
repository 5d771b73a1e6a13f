using System.Diagnostics;
using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Nfs;

/// <summary>
/// A new convert or dd target on an NFS export is whole or absent: it is built under a temporary name beside the
/// target and renamed into place (NFS3 RENAME) when whole, so a diskimg killed mid-copy leaves nothing at the
/// target's name (only the temporary, which SIGKILL gives no chance to remove), and an interrupted one removes its
/// temporary too. A finished copy prints and writes what qemu-img prints and writes.
/// </summary>
[Collection(NfsCollection.Name)]
public class NfsStagingTests(NfsServer server)
{
    private static readonly TimeSpan s_killLimit = TimeSpan.FromSeconds(60);

    private string Local(string name) => Path.Combine(server.Directory, name);

    private string[] Temporaries(string name) => Directory.GetFiles(server.Directory, $".{name}{PartialOutput.Marker}*");

    /// <summary>Starts diskimg and sends <paramref name="signal"/> once the temporary for <paramref name="name"/> exists.</summary>
    private ExternalTool.Result SignalWhenStaged(string name, int signal, params string[] arguments)
    {
        using var process = DiskimgProcess.Start(server.Directory, onTerminal: false, arguments);
        var clock = Stopwatch.StartNew();
        while (Temporaries(name).Length == 0)
        {
            Assert.False(process.HasExited, "diskimg finished before its temporary was seen");
            Assert.True(clock.Elapsed < s_killLimit, "no temporary appeared on the server");
            Thread.Sleep(5);
        }

        Assert.False(File.Exists(Local(name)), "the target's name was taken while the copy ran");
        process.Signal(signal);
        return process.WaitForExit(s_killLimit);
    }

    [Theory]
    [InlineData("convert", DiskimgProcess.SIGKILL)]
    [InlineData("convert", DiskimgProcess.SIGINT)]
    [InlineData("dd", DiskimgProcess.SIGKILL)]
    public void A_copy_to_the_export_stopped_midway_leaves_nothing_at_the_targets_name(string verb, int signal)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        File.WriteAllBytes(source, RandomNumberGenerator.GetBytes(64 << 20));
        var sourceHash = SHA256.HashData(File.ReadAllBytes(source));
        var name = NfsServer.Fresh(".qcow2");
        string[] arguments = verb == "convert"
            ? ["convert", "-O", "qcow2", source, server.Url(name)]
            : ["dd", "-f", "raw", "-O", "qcow2", "bs=1M", "if=" + source, "of=" + server.Url(name)];

        var run = SignalWhenStaged(name, signal, arguments);

        Assert.NotEqual(0, run.ExitCode);
        if (signal == DiskimgProcess.SIGKILL)
        {
            Assert.Equal(128 + DiskimgProcess.SIGKILL, run.ExitCode);
            Assert.NotEmpty(Temporaries(name));
        }
        else
        {
            Assert.Empty(Temporaries(name));
        }

        Assert.False(File.Exists(Local(name)), $"{verb} stopped by signal {signal} left a file at the target's name");
        Assert.Equal(sourceHash, SHA256.HashData(File.ReadAllBytes(source)));

        // The next run completes, leaves no temporary of its own, and qemu-img reads its image back as the source.
        var left = Temporaries(name);
        Assert.Equal(0, Diskimg.Run(arguments).ExitCode);
        Assert.Equal(left, Temporaries(name));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", source, server.Url(name)).ExitCode);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Converting_over_an_existing_file_replaces_it_whole_as_qemu_img_writes_it_and_keeps_its_mode()
    {
        var source = NfsServer.Fresh(".qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", Local(source), "1M");
        ExternalTool.QemuIo("-c", "write -P 0x3c 0 64k", Local(source));
        const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        var theirs = NfsServer.Fresh(".raw");
        var ours = NfsServer.Fresh(".raw");
        foreach (var target in new[] { theirs, ours })
        {
            File.WriteAllBytes(Local(target), new byte[3 << 20]);
            File.SetUnixFileMode(Local(target), Mode);
        }

        var theirResult = ExternalTool.Run("qemu-img", "convert", "-O", "raw", Local(source), server.Url(theirs));
        var ourResult = Diskimg.Run("convert", "-O", "raw", Local(source), server.Url(ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr), QemuToolOutput.Normalise(ourResult.StdErr).Replace(ours, theirs, StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(Local(theirs)), File.ReadAllBytes(Local(ours)));
        Assert.Equal(Mode, File.GetUnixFileMode(Local(ours)));
        Assert.Empty(Temporaries(ours));

        // A new file gets the mode the nfs driver creates with (0600), as qemu-img's does.
        var newTheirs = NfsServer.Fresh(".raw");
        var newOurs = NfsServer.Fresh(".raw");
        Assert.Equal(0, ExternalTool.Run("qemu-img", "convert", "-O", "raw", Local(source), server.Url(newTheirs)).ExitCode);
        Assert.Equal(0, Diskimg.Run("convert", "-O", "raw", Local(source), server.Url(newOurs)).ExitCode);
        Assert.Equal(File.GetUnixFileMode(Local(newTheirs)), File.GetUnixFileMode(Local(newOurs)));
        Assert.Equal(File.ReadAllBytes(Local(newTheirs)), File.ReadAllBytes(Local(newOurs)));
    }
}
