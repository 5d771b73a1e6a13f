namespace DiskImage.Formats.Qcow2;

/// <summary>One entry of the feature-name table extension.</summary>
internal readonly record struct Qcow2FeatureName(byte Type, byte Bit, string Name)
{
    public const byte Incompatible = 0;
    public const byte Compatible = 1;
    public const byte Autoclear = 2;
    public const int EntrySize = 48;

    /// <summary>The table QEMU writes into every new image, in its order.</summary>
    public static IReadOnlyList<Qcow2FeatureName> Standard { get; } =
    [
        new(Incompatible, 0, "dirty bit"),
        new(Incompatible, 1, "corrupt bit"),
        new(Incompatible, 2, "external data file"),
        new(Incompatible, 3, "compression type"),
        new(Incompatible, 4, "extended L2 entries"),
        new(Compatible, 0, "lazy refcounts"),
        new(Autoclear, 0, "bitmaps"),
        new(Autoclear, 1, "raw external data"),
    ];
}
