namespace DiskImage.Formats.Qcow2;

/// <summary>Creates qcow2 images with the layout qemu-img gives them.</summary>
internal static class Qcow2Creator
{
    public static void Create(string path, Qcow2CreateOptions options) => throw new UnsupportedFeatureException("Creating qcow2 images is not supported yet");
}
