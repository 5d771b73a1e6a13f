using DiskImage.IO;
using DiskImage.IO.Blkdebug;
using DiskImage.Nbd.Client;
using DiskImage.Operations.Io;

namespace DiskImage.Tests.Operations;

/// <summary>qemu's legacy <c>nbd:</c> names, <c>blkdebug:</c> names and the write events a blkdebug node raises.</summary>
public class BlkdebugAndLegacyNbdNameTests
{
    [Theory]
    [InlineData("nbd:unix:/run/s.sock", null, 0, "/run/s.sock", "")]
    [InlineData("nbd:unix:/run/s.sock:exportname=disk", null, 0, "/run/s.sock", "disk")]
    [InlineData("nbd:localhost:10809", "localhost", 10809, null, "")]
    [InlineData("nbd:[::1]:10810:exportname=a:b", "::1", 10810, null, "a:b")]
    public void Legacy_names_give_the_server_and_export(string name, string? host, int port, string? socket, string export)
    {
        Assert.True(NbdUri.IsNbd(name));
        Assert.Equal(new NbdUri(host, port, socket, export), NbdUri.Parse(name));
    }

    [Theory]
    [InlineData("nbd:", "NBD server address missing")]
    [InlineData("nbd:unix:/s:exportname=", "NBD server address missing")]
    [InlineData("nbd:localhost", "error parsing address 'localhost'")]
    [InlineData("nbd:localhost:99999", "error parsing address 'localhost:99999'")]
    public void Bad_legacy_names_are_refused_in_qemus_words(string name, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidOptionException>(() => NbdUri.Parse(name)).Message);

    [Fact]
    public void Blkdebug_names_without_rules_pass_through_to_the_image_path()
    {
        Assert.True(BlkdebugName.IsBlkdebug("blkdebug::/x/t.qcow2"));
        Assert.Equal("/x/t.qcow2", BlkdebugName.ImagePath("blkdebug::/x/t.qcow2"));
        Assert.Equal("blkdebug requires both config file and image path", Assert.Throws<InvalidOptionException>(() => BlkdebugName.ImagePath("blkdebug:t.qcow2")).Message);
        Assert.Equal("Could not read blkdebug config file: No such file or directory", Assert.Throws<ImageAccessException>(() => Storage.Open("blkdebug:/nonexistent/rules.cfg:t.qcow2", writable: false)).Message);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(4096, null)]
    [InlineData(3, "Cannot meet constraints with align 3")]
    [InlineData(2147483648, "Cannot meet constraints with align 2147483648")]
    public void Align_must_be_a_power_of_two_below_2_31(long align, string? complaint) => Assert.Equal(complaint, BlkdebugName.CheckAlign(align));

    // Expected lists follow QEMU's padding rules worked out by hand for a 4 KiB alignment.
    [Theory]
    [InlineData(0x1200, 0x200, "pwritev_rmw_head pwritev_rmw_tail pwritev_rmw_after_head pwritev_rmw_after_tail pwritev pwritev_done")]
    [InlineData(0x5000, 0x200, "pwritev_rmw_tail pwritev_rmw_after_tail pwritev pwritev_done")]
    [InlineData(0x7e00, 0x200, "pwritev_rmw_head pwritev_rmw_after_head pwritev pwritev_done")]
    [InlineData(0x6800, 0x1000, "pwritev_rmw_head pwritev_rmw_tail pwritev_rmw_after_head pwritev_rmw_after_tail pwritev pwritev_done")]
    [InlineData(0xe000, 0x1800, "pwritev_rmw_tail pwritev_rmw_after_tail pwritev pwritev_done")]
    [InlineData(0x3200, 0x2000, "pwritev_rmw_head pwritev_rmw_after_head pwritev_rmw_tail pwritev_rmw_after_tail pwritev pwritev_done")]
    [InlineData(0x2000, 0x1000, "pwritev pwritev_done")]
    public void Writes_raise_qemus_read_modify_write_events(long offset, long count, string expected) =>
        Assert.Equal(expected, string.Join(' ', new BlkdebugBreakpoints(4096).WriteEvents(offset, count, zero: false)));
}
