// A thin/thick report of a directory of images: for each image, its virtual size, the bytes the image
// itself stores (data ranges, not holes, zero clusters or its backing files), and whether it is thin or thick.
// Usage: ThinReport DIRECTORY
using System.Globalization;
using DiskImage;
using DiskImage.Formats;
using DiskImage.IO;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ThinReport DIRECTORY");
    return 2;
}

Console.WriteLine($"{"image",-32} {"format",-6} {"virtual",14} {"allocated",14} {"ratio",6}  provisioning");
foreach (var path in Directory.EnumerateFiles(args[0]).Order(StringComparer.Ordinal))
{
    try
    {
        using var image = ImageFormatRegistry.Default.Open(path, formatName: null, new ImageOpenOptions { OpenBackingChain = false });
        long allocated = 0;
        foreach (var extent in image.GetExtents(0, image.Length))
        {
            // Only data ranges hold storage: holes, zero clusters and unallocated ranges do not.
            if (extent.Kind == ExtentKind.Data)
            {
                allocated += extent.Length;
            }
        }

        var ratio = image.Length == 0 ? 1.0 : (double)allocated / image.Length;
        var kind = ratio >= 0.999 ? "thick" : "thin";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetFileName(path),-32} {image.Format.Name,-6} {image.Length,14} {allocated,14} {ratio,6:P0}  {kind}"));
    }
    catch (DiskImageException e)
    {
        Console.WriteLine($"{Path.GetFileName(path),-32} not an image: {e.Message}");
    }
}

return 0;
