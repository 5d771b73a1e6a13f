using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// qcow2 images with an external data file (data_file, data_file_raw): made by either tool and read, written, checked,
/// mapped and amended by the other, with the same output, errors and exit codes as qemu-img and qemu-io. Every data file
/// is named by an absolute path, since both tools open the name relative to the working directory.
/// </summary>
public class DataFileInteropTests
{
    [Theory]
    [InlineData("")]
    [InlineData(",data_file_raw=on")]
    [InlineData(",data_file_raw=on,cluster_size=4k")]
    [InlineData(",preallocation=metadata")]
    public void Created_images_are_byte_identical_to_qemu_img_create(string extra)
    {
        using var dir = new TempDirectory();
        var data = dir.File("disk.data");
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        var options = $"data_file={data}{extra}";
        var qemu = ExternalTool.Run("qemu-img", "create", "-f", "qcow2", "-o", options, theirs, "4M");
        var theirData = File.ReadAllBytes(data);
        var theirDataLength = new FileInfo(data).Length;
        File.WriteAllBytes(data, [1, 2, 3]); // an existing file is emptied, as qemu-img's file driver does
        var mine = Diskimg.Run("create", "-f", "qcow2", "-o", options, ours, "4M");
        Assert.Equal(Normalise(qemu, theirs), Normalise(mine, ours));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal(theirDataLength, new FileInfo(data).Length);
        Assert.Equal(theirData, File.ReadAllBytes(data));
        Assert.Equal(ExternalTool.QemuImg("check", theirs), ExternalTool.QemuImg("check", ours));
        Assert.Equal(WithoutDiskSize(ExternalTool.QemuImg("info", theirs).Replace(theirs, "IMG", StringComparison.Ordinal)),
            WithoutDiskSize(Diskimg.Ok("info", ours).Replace(ours, "IMG", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("compat=0.10,data_file=DATA")]
    [InlineData("data_file_raw=on")]
    [InlineData("data_file=DATA,data_file_raw=on,backing_file=BASE,backing_fmt=qcow2")]
    [InlineData("data_file=DATA,data_file_raw=bogus")]
    public void Refused_create_options_match_qemu_img(string options)
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", basePath, "4M");
        options = options.Replace("DATA", dir.File("d.data"), StringComparison.Ordinal).Replace("BASE", basePath, StringComparison.Ordinal);
        var image = dir.File("t.qcow2");
        var qemu = ExternalTool.Run("qemu-img", "create", "-f", "qcow2", "-o", options, image, "4M");
        var qemuLeft = Directory.GetFiles(dir.Path).Order().ToArray();
        foreach (var left in qemuLeft.Where(f => f != basePath))
        {
            File.Delete(left);
        }

        var mine = Diskimg.Run("create", "-f", "qcow2", "-o", options, image, "4M");
        Assert.NotEqual(0, qemu.ExitCode);
        Assert.Equal(Normalise(qemu, image), Normalise(mine, image));
        Assert.Equal(qemuLeft, Directory.GetFiles(dir.Path).Order().ToArray());
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Data_written_by_one_tool_reads_back_through_the_other(bool qemuWrites, bool raw)
    {
        using var dir = new TempDirectory();
        var data = dir.File("d.data");
        var image = dir.File("t.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"data_file={data}{(raw ? ",data_file_raw=on" : "")}", image, "8M");
        string[] writes = ["write -P 0x5a 0 64k", "write -P 0x33 1M 12k", "write -P 0x77 3M 2M", "write -z 3M 64k", "discard 4M 64k", "write -P 0x11 7M 512"];
        var commands = writes.SelectMany(w => new[] { "-c", w }).ToList();
        if (qemuWrites)
        {
            ExternalTool.QemuIo([.. commands, image]);
        }
        else
        {
            Diskimg.Ok(["io", .. commands, image]);
        }

        string[] reads = ["read -P 0x5a 0 64k", "read -P 0x33 1M 12k", "read -P 0 3M 64k", "read -P 0x77 3136k 960k", "read -P 0 4M 64k", "read -P 0x11 7M 512", "read -P 0 6M 64k"];
        var readCommands = reads.SelectMany(r => new[] { "-c", r }).ToList();
        var theirs = ExternalTool.Run("qemu-io", [.. readCommands, image]);
        var ours = Diskimg.Run(["io", .. readCommands, image]);
        Assert.Equal(0, theirs.ExitCode);
        Assert.DoesNotContain("Pattern verification failed", theirs.StdOut + theirs.StdErr, StringComparison.Ordinal);
        Assert.Equal(Normalise(theirs, image), Normalise(ours, image));

        // Guest offsets are data file offsets: the data file holds the guest's bytes where the guest put them.
        var bytes = File.ReadAllBytes(data);
        Assert.All(bytes.AsSpan(0, 65536).ToArray(), b => Assert.Equal(0x5a, b));
        Assert.All(bytes.AsSpan(1 << 20, 12 << 10).ToArray(), b => Assert.Equal(0x33, b));

        var check = ExternalTool.Run("qemu-img", "check", image);
        Assert.Equal(0, check.ExitCode);
        Assert.Equal(Normalise(check, image), Normalise(Diskimg.Run("check", image), image));
        Assert.Equal(ExternalTool.QemuImg("map", image), Diskimg.Ok("map", image));
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", image), Diskimg.Ok("map", "--output=json", image));
        Assert.Contains("Images are identical.", Diskimg.Ok("compare", image, image), StringComparison.Ordinal);
    }

    [Fact]
    public void Compressed_writes_are_refused_as_qemu_io_refuses_them()
    {
        using var dir = new TempDirectory();
        var image = dir.File("t.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"data_file={dir.File("d.data")}", image, "4M");
        var theirs = ExternalTool.Run("qemu-io", "-c", "write -c 0 64k", image);
        var ours = Diskimg.Run("io", "-c", "write -c 0 64k", image);
        Assert.Contains("Operation not supported", theirs.StdOut + theirs.StdErr, StringComparison.Ordinal);
        Assert.Equal(Normalise(theirs, image), Normalise(ours, image));
    }

    [Theory]
    [InlineData("", "data_file=foo")]
    [InlineData("", "data_file=")]
    [InlineData("", "data_file_raw=on")]
    [InlineData("", "data_file_raw=off")]
    [InlineData(",data_file=DATA", "data_file_raw=on")]
    [InlineData(",data_file=DATA", "compat=0.10")]
    [InlineData(",data_file=DATA", "data_file=NEW")]
    [InlineData(",data_file=DATA,data_file_raw=on", "data_file_raw=off")]
    [InlineData(",data_file=DATA,data_file_raw=on", "data_file_raw=on")]
    public void Amend_matches_qemu_img(string create, string amend)
    {
        using var dir = new TempDirectory();
        var data = dir.File("d.data");
        create = create.Replace("DATA", data, StringComparison.Ordinal);
        amend = amend.Replace("NEW", dir.File("new.data"), StringComparison.Ordinal);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", "compat=1.1" + create, theirs, "4M");
        File.Copy(theirs, ours);
        var qemu = ExternalTool.Run("qemu-img", "amend", "-o", amend, theirs);
        var mine = Diskimg.Run("amend", "-o", amend, ours);
        Assert.Equal(Normalise(qemu, theirs), Normalise(mine, ours));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        // File.Copy fills the holes of the copy, so the disk sizes are left out.
        Assert.Equal(WithoutDiskSize(ExternalTool.QemuImg("info", theirs).Replace(theirs, "IMG", StringComparison.Ordinal)),
            WithoutDiskSize(ExternalTool.QemuImg("info", ours).Replace(ours, "IMG", StringComparison.Ordinal)));
    }

    [Fact]
    public void Image_opts_name_the_data_file_in_place_of_the_header()
    {
        using var dir = new TempDirectory();
        var data = dir.File("d.data");
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"data_file={data}", theirs, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x42 0 64k", theirs);
        ExternalTool.QemuImg("amend", "-o", $"data_file={dir.File("gone.data")}", theirs);
        File.Copy(theirs, ours);

        // The name in the header is missing: opening for data fails, naming the file instead works.
        var qemuCheck = ExternalTool.Run("qemu-img", "check", theirs);
        Assert.Equal(Normalise(qemuCheck, theirs), Normalise(Diskimg.Run("check", ours), ours));
        string Opts(string image) => $"driver=qcow2,file.filename={image},data-file.filename={data}";
        var qemuRead = ExternalTool.Run("qemu-io", "--image-opts", "-c", "read -P 0x42 0 64k", Opts(theirs));
        var ourRead = Diskimg.Run("io", "--image-opts", "-c", "read -P 0x42 0 64k", Opts(ours));
        Assert.Equal(Normalise(qemuRead, theirs), Normalise(ourRead, ours));

        // Clearing the name leaves an image that needs data-file.filename to open.
        var qemuAmend = ExternalTool.Run("qemu-img", "amend", "-o", "data_file=", "--image-opts", Opts(theirs));
        var ourAmend = Diskimg.Run("amend", "-o", "data_file=", "--image-opts", Opts(ours));
        Assert.Equal(Normalise(qemuAmend, theirs), Normalise(ourAmend, ours));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal(Normalise(ExternalTool.Run("qemu-img", "check", theirs), theirs), Normalise(Diskimg.Run("check", ours), ours));

        // A data file named for an image without one is refused.
        var plain = dir.File("plain.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", plain, "4M");
        var plainOpts = $"driver=qcow2,file.filename={plain},data-file.filename={data}";
        Assert.Equal(
            Normalise(ExternalTool.Run("qemu-io", "--image-opts", "-c", "read 0 512", plainOpts), plain),
            Normalise(Diskimg.Run("io", "--image-opts", "-c", "read 0 512", plainOpts), plain));
    }

    [Fact]
    public void Resize_grows_and_shrinks_the_data_file_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        foreach (var raw in new[] { false, true })
        {
            var theirData = dir.File($"theirs{raw}.data");
            var ourData = dir.File($"ours{raw}.data");
            var theirs = dir.File($"theirs{raw}.qcow2");
            var ours = dir.File($"ours{raw}.qcow2");
            var extra = raw ? ",data_file_raw=on" : "";
            ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"data_file={theirData}{extra}", theirs, "4M");
            ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"data_file={ourData}{extra}", ours, "4M");
            foreach (var size in new[] { "+4M", "--shrink 2M" })
            {
                string[] args = size.StartsWith("--", StringComparison.Ordinal) ? ["resize", "--shrink", ours, "2M"] : ["resize", ours, size];
                string[] qemuArgs = size.StartsWith("--", StringComparison.Ordinal) ? ["resize", "--shrink", theirs, "2M"] : ["resize", theirs, size];
                ExternalTool.QemuImg(qemuArgs);
                Diskimg.Ok(args);
                Assert.Equal(new FileInfo(theirData).Length, new FileInfo(ourData).Length);
                Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirs), ExternalTool.QemuImg("map", "--output=json", ours));
                Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
            }
        }
    }

    [Fact]
    public void Sigkill_mid_write_leaves_leaks_at_worst_and_the_written_data_readable()
    {
        using var dir = new TempDirectory();
        var killed = 0;
        for (var round = 0; round < 3; round++)
        {
            var data = dir.File($"r{round}.data");
            var image = dir.File($"r{round}.qcow2");
            ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"data_file={data},cluster_size=4k", image, "256M");
            var commands = new List<string> { "io" };
            for (var i = 0; i < 2000; i++)
            {
                commands.AddRange(["-c", $"write -P {(i % 250) + 1} {(long)i * 128 * 1024} 4k"]);
            }

            commands.Add(image);
            using var process = DiskimgProcess.Start(dir.Path, onTerminal: false, [.. commands]);
            var started = DateTime.UtcNow;
            while (!process.HasExited && LockTable.HeldBytes(image).Count == 0 && DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
            {
                Thread.Sleep(1);
            }

            Thread.Sleep(Random.Shared.Next(50, 400));
            process.Signal(DiskimgProcess.SIGKILL);
            var result = process.WaitForExit(TimeSpan.FromSeconds(120));
            killed += result.ExitCode == 128 + DiskimgProcess.SIGKILL ? 1 : 0;

            var check = ExternalTool.Run("qemu-img", "check", image);
            Assert.True(check.ExitCode is 0 or 3, $"round {round}: qemu-img check exit {check.ExitCode}: {check.StdOut}{check.StdErr}");
            Assert.DoesNotContain("ERROR", check.StdOut + check.StdErr, StringComparison.Ordinal);

            // A cluster the metadata maps holds its whole write (the data reached the data file before the L2 entry);
            // the others read as zeroes.
            var copy = dir.File($"r{round}.raw");
            ExternalTool.QemuImg("convert", "-O", "raw", image, copy);
            var bytes = File.ReadAllBytes(copy);
            for (var i = 0; i < 2000; i++)
            {
                var slot = bytes.AsSpan(i * 128 * 1024, 4096);
                var pattern = (byte)((i % 250) + 1);
                Assert.True(!slot.ContainsAnyExcept(pattern) || !slot.ContainsAnyExcept((byte)0), $"round {round}: write {i} is torn");
            }

            File.Delete(copy);
        }

        Assert.True(killed > 0, "no round was killed mid-way; the test did not exercise the crash");
    }

    private static string WithoutDiskSize(string info) =>
        string.Join('\n', info.Split('\n').Where(l => !l.StartsWith("disk size:", StringComparison.Ordinal)));

    private static string Normalise(ExternalTool.Result result, string image) =>
        $"exit {result.ExitCode}\n{QemuToolOutput.Normalise(result.StdOut, image)}\n{QemuToolOutput.Normalise(result.StdErr, image)}";
}
