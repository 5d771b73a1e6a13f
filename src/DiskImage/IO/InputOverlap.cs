using DiskImage.Formats;

namespace DiskImage.IO;

/// <summary>
/// The "no command writes over its own input" rule: an output is compared by <see cref="FileIdentity"/>
/// with every input file (each layer of each backing chain, and data files) before it is created,
/// truncated or written.
/// </summary>
public static class InputOverlap
{
    /// <summary>Every host file an opened image reads: each layer of its backing chain and any external data file.</summary>
    public static IEnumerable<string> ChainFiles(IDiskImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        for (var layer = image; layer is not null; layer = layer.Backing)
        {
            yield return layer.FilePath;
            if (layer.GetInfo().FormatSpecific is Formats.Qcow2.Qcow2SpecificInfo { DataFile: { } dataFile })
            {
                yield return Formats.Qcow2.Qcow2Image.ResolveBackingPath(layer.FilePath, dataFile);
            }
        }
    }

    /// <summary>
    /// Refuses when <paramref name="output"/> is the same file as any file of any of the opened <paramref name="inputs"/>
    /// (each layer of its backing chain, and data files); the message names the input whose chain holds it.
    /// </summary>
    public static void EnsureDistinct(string output, IEnumerable<IDiskImage> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var input in inputs)
        {
            if (FindOverlap(output, ChainFiles(input)) is { } file && file != input.FilePath)
            {
                throw new SameFileException($"Refusing to write '{output}': it is '{file}', in the backing chain of input '{input.FilePath}'");
            }
        }

        EnsureDistinct(output, inputs.Select(i => i.FilePath));
    }

    /// <summary>Refuses when <paramref name="output"/> is the same file as any of <paramref name="inputs"/>; a missing output overlaps nothing.</summary>
    public static void EnsureDistinct(string output, IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(inputs);
        if (FindOverlap(output, inputs) is { } input)
        {
            throw new SameFileException(input == output
                ? $"Refusing to write '{output}': it is also an input"
                : $"Refusing to write '{output}': it is the same file as input '{input}'");
        }
    }

    /// <summary>The first input that is the same file as <paramref name="output"/>, or null.</summary>
    public static string? FindOverlap(string output, IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (FileIdentity.Of(output) is not { } target)
        {
            return null;
        }

        foreach (var input in inputs)
        {
            if (FileIdentity.Of(input) == target)
            {
                return input;
            }
        }

        return null;
    }
}
