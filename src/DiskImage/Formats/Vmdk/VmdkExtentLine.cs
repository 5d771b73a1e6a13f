namespace DiskImage.Formats.Vmdk;

/// <summary>The kinds of extent a descriptor may name (the third word of an extent line).</summary>
internal enum VmdkExtentType
{
    Flat,
    Sparse,
    Vmfs,
    VmfsSparse,
    SeSparse,
}

/// <summary>One <c>RW &lt;sectors&gt; &lt;TYPE&gt; "file" [offset]</c> line of a descriptor.</summary>
internal sealed record VmdkExtentLine(long Sectors, VmdkExtentType Type, string TypeName, string FileName, long FlatOffsetSectors);
