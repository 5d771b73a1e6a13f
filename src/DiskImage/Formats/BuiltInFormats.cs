namespace DiskImage.Formats;

/// <summary>The formats that ship with the library, in probe order.</summary>
internal static class BuiltInFormats
{
    public static IEnumerable<IImageFormat> All =>
    [
        Qcow2.Qcow2Format.Instance,
        Qcow.QcowFormat.Instance,
        Vmdk.VmdkFormat.Instance,
        Ova.OvaFormat.Instance,
        Vpc.VpcFormat.Instance,
        Vdi.VdiFormat.Instance,
        Qed.QedFormat.Instance,
        Parallels.ParallelsFormat.Instance,
        Dmg.DmgFormat.Instance,
        Vhdx.VhdxFormat.Instance,
        Bochs.BochsFormat.Instance,
        Cloop.CloopFormat.Instance,
        Luks.LuksFormat.Instance,
        Raw.RawFormat.Instance,
        Iso9660.IsoFormat.Instance,
        Raw.ProtocolFormat.File,
        Raw.ProtocolFormat.Nbd,
        Raw.ProtocolFormat.Ssh,
        Raw.ProtocolFormat.Nfs,
        Raw.ProtocolFormat.Iscsi,
        Raw.ProtocolFormat.Iser,
        Raw.ProtocolFormat.HostDevice,
        Raw.ProtocolFormat.HostCdrom,
        Curl.CurlProtocolFormat.Http,
        Curl.CurlProtocolFormat.Https,
        Curl.CurlProtocolFormat.Ftp,
        Curl.CurlProtocolFormat.Ftps,
        Null.NullFormat.Co,
        Null.NullFormat.Aio,
        Vvfat.VvfatFormat.Instance,
        .. Filters.FilterDriverFormat.All,
        .. Foreign.ForeignDriverFormat.All,
    ];
}
