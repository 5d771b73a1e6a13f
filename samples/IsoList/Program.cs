// Lists the files of an ISO 9660 image (Rock Ridge names first, then Joliet, then plain ISO names).
// The ISO may also sit inside another image, e.g. a qcow2: it is read through the block-device API.
// Usage: IsoList IMAGE.iso
using DiskImage.Formats;
using DiskImage.Formats.Iso9660;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: IsoList IMAGE.iso");
    return 2;
}

using var image = ImageFormatRegistry.Default.Open(args[0], formatName: null);
using var iso = IsoFileSystem.Open(image, leaveOpen: true);
Console.WriteLine($"volume '{iso.Volume.VolumeId}', {iso.Tree} names");
foreach (var node in iso.Walk())
{
    var kind = node.Kind == IsoNodeKind.Directory ? "d" : "-";
    Console.WriteLine($"{kind} {node.Size,12} {node.Path}");
}

return 0;
