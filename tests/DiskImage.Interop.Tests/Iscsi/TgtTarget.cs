using System.Diagnostics;
using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iscsi;

/// <summary>
/// A private userspace iSCSI target (tgt's tgtd) for one test class, on a free loopback port and its own control
/// port, so it meets neither another class's nor a system tgtd. Target <c>iqn.2026-12.test:open</c> exports
/// <see cref="OpenLun"/> as LUN 1 to anyone; <c>iqn.2026-12.test:chap</c> exports <see cref="ChapLun"/> as LUN 1 to
/// the CHAP user <see cref="ChapUser"/> only; <c>iqn.2026-12.test:thin</c> exports the sparse <see cref="ThinLun"/>
/// thin-provisioned. Killed on dispose.
/// </summary>
public sealed class TgtTarget : IDisposable
{
    public const string OpenIqn = "iqn.2026-12.test:open";
    public const string ChapIqn = "iqn.2026-12.test:chap";
    public const string ThinIqn = "iqn.2026-12.test:thin";
    public const string ChapUser = "alice";
    public const string ChapPassword = "secret123456";

    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly Process _tgtd;
    private readonly string _control;

    public TgtTarget()
    {
        Port = Loopback.FreePort();
        // The control port names tgtd's management socket; one per class, away from a system tgtd's 0.
        _control = (1000 + (Port % 20000)).ToString(CultureInfo.InvariantCulture);
        OpenLun = _dir.File("open.img");
        ChapLun = _dir.File("chap.img");
        ThinLun = _dir.File("thin.img");
        File.WriteAllBytes(OpenLun, new byte[8 << 20]);
        File.WriteAllBytes(ChapLun, new byte[4 << 20]);
        var tgtd = File.Exists("/usr/sbin/tgtd") ? "/usr/sbin/tgtd" : ExternalTool.Require("tgtd");
        _tgtd = BackgroundProcess.Start(tgtd, "-f", "--iscsi", $"portal=127.0.0.1:{Port}", "-C", _control);
        Loopback.WaitFor(() => Loopback.Accepts(Port), () => _tgtd.HasExited, s_startLimit, "tgtd");
        Admin("--op", "new", "--mode", "target", "--tid", "1", "-T", OpenIqn);
        Admin("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", OpenLun);
        Admin("--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL");
        Admin("--op", "new", "--mode", "target", "--tid", "2", "-T", ChapIqn);
        Admin("--op", "new", "--mode", "logicalunit", "--tid", "2", "--lun", "1", "-b", ChapLun);
        Admin("--op", "bind", "--mode", "target", "--tid", "2", "-I", "ALL");
        Admin("--op", "new", "--mode", "account", "--user", ChapUser, "--password", ChapPassword);
        Admin("--op", "bind", "--mode", "account", "--tid", "2", "--user", ChapUser);
        File.WriteAllBytes(ThinLun, new byte[4 << 20]);
        Admin("--op", "new", "--mode", "target", "--tid", "3", "-T", ThinIqn);
        Admin("--op", "new", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "-b", ThinLun);
        Admin("--op", "update", "--mode", "logicalunit", "--tid", "3", "--lun", "1", "--params", "thin_provisioning=1");
        Admin("--op", "bind", "--mode", "target", "--tid", "3", "-I", "ALL");
    }

    public int Port { get; }

    /// <summary>The file behind LUN 1 of the open target.</summary>
    public string OpenLun { get; }

    /// <summary>The file behind LUN 1 of the CHAP target.</summary>
    public string ChapLun { get; }

    /// <summary>The sparse file behind LUN 1 of the thin-provisioned target (UNMAP, WRITE SAME, GET LBA STATUS).</summary>
    public string ThinLun { get; }

    /// <summary>A directory for files the tests write.</summary>
    public string Directory => _dir.Path;

    /// <summary>The iscsi:// name of LUN <paramref name="lun"/> of <paramref name="iqn"/>, with CHAP credentials when given.</summary>
    public string Url(string iqn = OpenIqn, int lun = 1, string? credentials = null) =>
        $"iscsi://{(credentials is null ? "" : credentials + "@")}127.0.0.1:{Port}/{iqn}/{lun}";

    private void Admin(params string[] arguments)
    {
        var tgtadm = File.Exists("/usr/sbin/tgtadm") ? "/usr/sbin/tgtadm" : ExternalTool.Require("tgtadm");
        ExternalTool.Run(tgtadm, ["-C", _control, "--lld", "iscsi", .. arguments]).EnsureSuccess("tgtadm " + string.Join(' ', arguments));
    }

    public void Dispose()
    {
        try
        {
            _tgtd.Kill(entireProcessTree: true);
            _tgtd.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _tgtd.Dispose();
        _dir.Dispose();
    }
}
