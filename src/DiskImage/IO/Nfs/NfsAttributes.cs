namespace DiskImage.IO.Nfs;

/// <summary>The fields of an NFS v3 <c>fattr3</c> (RFC 1813) the driver uses: type, mode, size and the bytes the file takes.</summary>
internal readonly record struct NfsAttributes(uint Type, ulong Size, ulong Used)
{
    /// <summary>NF3REG.</summary>
    public const uint RegularFile = 1;

    /// <summary>NF3DIR.</summary>
    public const uint Directory = 2;

    /// <summary>NF3LNK.</summary>
    public const uint SymbolicLink = 5;

    private const int RestAfterUsed = 8 + 8 + 8 + 8 * 3;

    /// <summary>The permission bits (and set-id and sticky bits).</summary>
    public uint Mode { get; init; }

    /// <summary>Reads a whole <c>fattr3</c>.</summary>
    public static NfsAttributes Read(XdrReader reader)
    {
        var type = reader.UInt32();
        var mode = reader.UInt32();
        reader.Skip(3 * 4);
        var size = reader.UInt64();
        var used = reader.UInt64();
        reader.Skip(RestAfterUsed);
        return new NfsAttributes(type, size, used) { Mode = mode & 0xfff };
    }

    /// <summary>Reads a <c>post_op_attr</c>: the attributes when the server sent them.</summary>
    public static NfsAttributes? ReadOptional(XdrReader reader) => reader.Bool() ? Read(reader) : null;

    /// <summary>Skips a <c>wcc_data</c> (attributes before and after an operation), which the driver does not use.</summary>
    public static void SkipWcc(XdrReader reader)
    {
        if (reader.Bool())
        {
            reader.Skip(8 + 8 + 8);
        }

        ReadOptional(reader);
    }
}
