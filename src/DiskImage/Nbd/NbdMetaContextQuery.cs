using System.Text;

namespace DiskImage.Nbd;

/// <summary>The meta contexts a LIST or SET_META_CONTEXT request selects.</summary>
/// <param name="BaseAllocation"><c>base:allocation</c>.</param>
/// <param name="AllocationDepth"><c>qemu:allocation-depth</c> (only when the export offers it).</param>
/// <param name="Bitmaps">For each exported bitmap, in export order, whether <c>qemu:dirty-bitmap:NAME</c> is selected.</param>
internal sealed record NbdMetaContextSelection(bool BaseAllocation, bool AllocationDepth, bool[] Bitmaps);

/// <summary>
/// Matches meta context queries as qemu-nbd does. Queries are compared as bytes up to their first NUL (qemu reads
/// each into a C string); a LIST with no query, or a LIST query that is a bare namespace (<c>base:</c>,
/// <c>qemu:</c>, <c>qemu:dirty-bitmap:</c>), selects everything in it; a SET selects exact names only; anything
/// else (another namespace, an unknown name, an over-long query) selects nothing and is not an error.
/// </summary>
internal static class NbdMetaContextQuery
{
    /// <summary>qemu-nbd skips a query longer than this (NBD_MAX_STRING_SIZE) without looking at it.</summary>
    public const int MaxQueryBytes = 4096;

    public static NbdMetaContextSelection Select(IReadOnlyList<byte[]> queries, bool set, bool allocationDepthOffered, IReadOnlyList<string> bitmapNames)
    {
        var list = !set;
        var all = list && queries.Count == 0;
        var wantBase = all;
        var wantDepth = all && allocationDepthOffered;
        var wantBitmap = new bool[bitmapNames.Count];
        if (all)
        {
            Array.Fill(wantBitmap, true);
        }

        foreach (var raw in queries)
        {
            if (raw.Length > MaxQueryBytes)
            {
                continue;
            }

            var query = UpToNul(raw);
            if (StripPrefix(ref query, "base:"u8))
            {
                wantBase |= query.SequenceEqual("allocation"u8) || (list && query.IsEmpty);
            }
            else if (StripPrefix(ref query, "qemu:"u8))
            {
                if (query.IsEmpty)
                {
                    if (list)
                    {
                        wantDepth |= allocationDepthOffered;
                        Array.Fill(wantBitmap, true);
                    }
                }
                else if (query.SequenceEqual("allocation-depth"u8))
                {
                    wantDepth |= allocationDepthOffered;
                }
                else if (StripPrefix(ref query, "dirty-bitmap:"u8))
                {
                    MatchBitmap(query, list, bitmapNames, wantBitmap);
                }
            }
        }

        return new NbdMetaContextSelection(wantBase, wantDepth, wantBitmap);
    }

    private static void MatchBitmap(ReadOnlySpan<byte> name, bool list, IReadOnlyList<string> bitmapNames, bool[] wantBitmap)
    {
        if (name.IsEmpty)
        {
            if (list)
            {
                Array.Fill(wantBitmap, true);
            }

            return;
        }

        // The first bitmap of that name (export names are distinct in practice; qemu stops at the first too).
        for (var i = 0; i < bitmapNames.Count; i++)
        {
            if (name.SequenceEqual(Encoding.UTF8.GetBytes(bitmapNames[i])))
            {
                wantBitmap[i] = true;
                return;
            }
        }
    }

    private static ReadOnlySpan<byte> UpToNul(byte[] query)
    {
        var nul = Array.IndexOf(query, (byte)0);
        return nul < 0 ? query : query.AsSpan(0, nul);
    }

    private static bool StripPrefix(ref ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix)
    {
        if (!text.StartsWith(prefix))
        {
            return false;
        }

        text = text[prefix.Length..];
        return true;
    }
}
