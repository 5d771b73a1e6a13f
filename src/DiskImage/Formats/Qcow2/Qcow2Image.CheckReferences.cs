using System.Buffers.Binary;
using DiskImage.Formats.Qcow2.Bitmaps;
using DiskImage.Operations;
using DiskImage.Operations.Check;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Counting every reference to every host cluster, as QEMU's <c>calculate_refcounts</c> does: header,
/// active and snapshot L1/L2 tables and the clusters they map, snapshot table, refcount table and blocks,
/// LUKS area and persistent bitmaps. Offsets come from the file, so each is checked before it is used.
/// </summary>
public sealed partial class Qcow2Image
{
    private const ulong L1ReservedMask = 0x7f000000000001ffUL;
    private const ulong L2StandardReservedMask = 0x3f000000000001feUL;
    private const ulong RefcountTableReservedMask = 0x1ffUL;

    private void CalculateReferences(CheckCounts res, CheckRepair fix, ref bool rebuild, Qcow2ReferenceArray refs)
    {
        IncrementReferences(res, refs, 0, _clusterSize);
        CountL1References(res, refs, _header.L1TableOffset, _header.L1Size, fix, active: true);
        if (HasDataFile && _snapshots.Count > 0)
        {
            res.Messages.Add($"ERROR {_snapshots.Count} snapshots in image with data file");
            res.Corruptions++;
        }

        foreach (var snapshot in _snapshots)
        {
            if ((snapshot.L1TableOffset & (_clusterSize - 1)) != 0)
            {
                res.Messages.Add($"ERROR snapshot {snapshot.Id} ({snapshot.Name}) l1_offset=0x{snapshot.L1TableOffset:x}: L1 table is not cluster aligned; snapshot table entry corrupted");
                res.Corruptions++;
                continue;
            }

            if (snapshot.L1Size > Qcow2Constants.MaxL1Bytes / 8)
            {
                res.Messages.Add($"ERROR snapshot {snapshot.Id} ({snapshot.Name}) l1_size=0x{snapshot.L1Size:x}: L1 table is too large; snapshot table entry corrupted");
                res.Corruptions++;
                continue;
            }

            CountL1References(res, refs, snapshot.L1TableOffset, (int)snapshot.L1Size, fix, active: false);
        }

        if (_header.SnapshotCount > 0)
        {
            IncrementReferences(res, refs, _header.SnapshotsOffset, SnapshotTableLength());
        }

        IncrementReferences(res, refs, _header.RefcountTableOffset, (long)_header.RefcountTableClusters * _clusterSize);
        if (_header.FindExtension(Qcow2Constants.ExtensionCryptoHeader) is { Data.Length: >= 16 } crypto)
        {
            var offset = BinaryPrimitives.ReadInt64BigEndian(crypto.Data);
            var length = BinaryPrimitives.ReadInt64BigEndian(crypto.Data.AsSpan(8));
            IncrementReferences(res, refs, offset, length);
        }

        CountBitmapReferences(res, refs);
        CountRefcountBlocks(res, fix, ref rebuild, refs);
    }

    /// <summary>QEMU's <c>qcow2_inc_refcounts_imrt</c>: one reference to every cluster the byte range touches.</summary>
    private void IncrementReferences(CheckCounts res, Qcow2ReferenceArray refs, long offset, long size)
    {
        if (size <= 0)
        {
            return;
        }

        // The last cluster may be partly past the end of the file; a whole cluster or more is an error.
        if (offset < 0 || offset > Qcow2Constants.MaxHostOffset || size > Qcow2Constants.MaxHostOffset || offset + size - _file.Length >= _clusterSize)
        {
            res.Messages.Add($"ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x{offset:x} size 0x{size:x}");
            res.Corruptions++;
            return;
        }

        for (var cluster = offset >> _clusterBits; cluster <= (offset + size - 1) >> _clusterBits; cluster++)
        {
            var count = refs[cluster];
            if (count == refs.Max)
            {
                res.Messages.Add($"ERROR: overflow cluster offset=0x{cluster << _clusterBits:x}");
                res.Messages.Add("Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a clean copy if the image cannot be opened for writing");
                res.Corruptions++;
                continue;
            }

            refs[cluster] = count + 1;
        }
    }

    private void CountL1References(CheckCounts res, Qcow2ReferenceArray refs, long l1Offset, int l1Size, CheckRepair fix, bool active)
    {
        if (l1Size == 0)
        {
            return;
        }

        IncrementReferences(res, refs, l1Offset, l1Size * 8L);
        var raw = new byte[l1Size * 8L];
        _file.Read(l1Offset, raw);
        var table = new byte[_clusterSize];
        for (var i = 0; i < l1Size; i++)
        {
            // Counting changes no refcount; a repair made so far only dropped a reference to a foreign cluster.
            _checkCancellation.ThrowIfCancellationRequested();
            _checkProgress?.Report(new OperationProgress(Math.Min(++_checkDone, _checkTotal), _checkTotal));
            var entry = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            if (entry == 0)
            {
                continue;
            }

            if ((entry & L1ReservedMask) != 0)
            {
                res.Messages.Add($"ERROR found L1 entry with reserved bits set: {entry:x}");
                res.Corruptions++;
            }

            var l2Offset = (long)(entry & Qcow2Constants.L1OffsetMask);
            IncrementReferences(res, refs, l2Offset, _clusterSize);
            if ((l2Offset & (_clusterSize - 1)) != 0)
            {
                res.Messages.Add($"ERROR l2_offset={l2Offset:x}: Table is not cluster aligned; L1 entry corrupted");
                res.Corruptions++;
            }

            _file.Read(l2Offset, table);
            CountL2References(res, refs, l2Offset, table, fix, active);
        }
    }

    private void CountL2References(CheckCounts res, Qcow2ReferenceArray refs, long l2Offset, byte[] table, CheckRepair fix, bool active)
    {
        long nextContiguous = 0;
        for (var i = 0; i < L2Entries; i++)
        {
            var entry = ReadEntry(table, i);
            var bitmap = ReadBitmap(table, i);
            var host = (long)(entry & Qcow2Constants.L2OffsetMask);
            if ((entry & Qcow2Constants.FlagCompressed) != 0)
            {
                if ((entry & Qcow2Constants.FlagCopied) != 0)
                {
                    var coffset = CompressedSpan(entry).Offset;
                    res.Messages.Add($"ERROR: coffset=0x{coffset:x}: copied flag must never be set for compressed clusters");
                    entry &= ~Qcow2Constants.FlagCopied;
                    res.Corruptions++;
                }

                if (HasDataFile)
                {
                    res.Messages.Add($"ERROR compressed cluster {i} with data file, entry=0x{entry:x}");
                    res.Corruptions++;
                    continue;
                }

                if (bitmap != 0)
                {
                    res.Messages.Add($"ERROR compressed cluster {i} with non-zero subcluster allocation bitmap, entry=0x{entry:x}");
                    res.Corruptions++;
                    continue;
                }

                var (offset, length) = CompressedSpan(entry);
                IncrementReferences(res, refs, offset, length);
                if (active)
                {
                    res.AllocatedClusters++;
                    res.CompressedClusters++;
                    res.FragmentedClusters++;
                }

                continue;
            }

            if ((entry & L2StandardReservedMask) != 0)
            {
                res.Messages.Add($"ERROR found l2 entry with reserved bits set: {entry:x}");
                res.Corruptions++;
            }

            var zeroFlag = !_extendedL2 && (entry & Qcow2Constants.FlagZero) != 0;
            if (host == 0 && (zeroFlag || !IsDataFileClusterZero(entry)))
            {
                if (_extendedL2 && (bitmap & Qcow2Constants.SubclusterAllocMask) != 0)
                {
                    res.Corruptions++;
                    res.Messages.Add("ERROR: Unallocated cluster has non-zero subcluster allocation map");
                }

                continue;
            }

            if (((bitmap >> 32) & bitmap) != 0)
            {
                res.Corruptions++;
                res.Messages.Add($"ERROR offset={host:x}: Allocated cluster has corrupted subcluster allocation bitmap");
            }

            if ((host & (_clusterSize - 1)) != 0)
            {
                res.Corruptions++;
                var containsData = _extendedL2 ? (bitmap & Qcow2Constants.SubclusterAllocMask) != 0 : !zeroFlag;
                if (containsData)
                {
                    res.Messages.Add($"ERROR offset={host:x}: Data cluster is not properly aligned; L2 entry corrupted.");
                }
                else
                {
                    var repair = (fix & CheckRepair.Errors) != 0;
                    res.Messages.Add($"{(repair ? "Repairing" : "ERROR")} offset={host:x}: Preallocated cluster is not properly aligned; L2 entry corrupted.");
                    if (repair)
                    {
                        ZeroL2EntryForRepair(l2Offset, table, i);
                        res.Corruptions--;
                        res.CorruptionsFixed++;
                        continue;
                    }
                }
            }

            if (active)
            {
                res.AllocatedClusters++;
                if (nextContiguous != 0 && host != nextContiguous)
                {
                    res.FragmentedClusters++;
                }

                nextContiguous = host + _clusterSize;
            }

            if (!HasDataFile)
            {
                IncrementReferences(res, refs, host, _clusterSize);
            }
        }
    }

    /// <summary>
    /// Turns an entry into a plain zero cluster (it keeps no host cluster), written through at once. With extended
    /// L2 entries only the subclusters that were allocated become zero; unallocated ones keep reading from the
    /// backing file, zero ones stay zero (QEMU's rule).
    /// </summary>
    private void ZeroL2EntryForRepair(long l2Offset, byte[] table, int index)
    {
        BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan(index * _l2EntryBytes), _extendedL2 ? 0 : Qcow2Constants.FlagZero);
        if (_extendedL2)
        {
            var bitmap = BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan((index * 16) + 8));
            BinaryPrimitives.WriteUInt64BigEndian(table.AsSpan((index * 16) + 8), (bitmap | (bitmap << 32)) & ~Qcow2Constants.SubclusterAllocMask);
        }

        _l2Cache.Remove(l2Offset);
        _file.Write(l2Offset + ((long)index * _l2EntryBytes), table.AsSpan(index * _l2EntryBytes, _l2EntryBytes));
        _file.Flush();
    }

    /// <summary>
    /// QEMU's <c>qcow2_check_bitmaps_refcounts</c>: the directory, each bitmap table and each data cluster
    /// are referenced once. A table with a bad entry makes the check fail, as in QEMU.
    /// </summary>
    private void CountBitmapReferences(CheckCounts res, Qcow2ReferenceArray refs)
    {
        if (Qcow2BitmapsExtension.From(_header) is not { } extension || _bitmaps.Count == 0)
        {
            return;
        }

        IncrementReferences(res, refs, extension.DirectoryOffset, extension.DirectorySize);
        foreach (var bitmap in _bitmaps)
        {
            IncrementReferences(res, refs, bitmap.TableOffset, bitmap.TableSize * 8L);
            var table = Qcow2BitmapTable.Read(_file, bitmap);
            if (table.Any(entry => !Qcow2BitmapTable.IsValidEntry(entry, _clusterSize)))
            {
                res.Corruptions++;
                throw new CheckFailedException("Invalid argument", res);
            }

            foreach (var entry in table)
            {
                var offset = (long)(entry & Qcow2BitmapLimits.TableEntryOffsetMask);
                if (offset != 0)
                {
                    IncrementReferences(res, refs, offset, _clusterSize);
                }
            }
        }
    }

    /// <summary>QEMU's <c>check_refblocks</c>: each refcount block is referenced once, by the refcount table.</summary>
    private void CountRefcountBlocks(CheckCounts res, CheckRepair fix, ref bool rebuild, Qcow2ReferenceArray refs)
    {
        var entries = (int)((long)_header.RefcountTableClusters * _clusterSize / 8);
        var raw = new byte[entries * 8L];
        _file.Read(_header.RefcountTableOffset, raw);
        for (var i = 0; i < entries; i++)
        {
            var entry = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
            var offset = (long)(entry & Qcow2Constants.RefcountTableOffsetMask);
            var cluster = offset >> _clusterBits;
            if ((entry & RefcountTableReservedMask) != 0)
            {
                res.Messages.Add($"ERROR refcount table entry {i} has reserved bits set");
                res.Corruptions++;
                rebuild = true;
                continue;
            }

            if ((offset & (_clusterSize - 1)) != 0)
            {
                res.Messages.Add($"ERROR refcount block {i} is not cluster aligned; refcount table entry corrupted");
                res.Corruptions++;
                rebuild = true;
                continue;
            }

            if (offset == 0)
            {
                continue;
            }

            if (cluster >= refs.Count)
            {
                res.Corruptions++;
                var repair = (fix & CheckRepair.Errors) != 0 && offset < Qcow2Constants.MaxHostOffset && cluster < Qcow2ReferenceArray.MaxClusters;
                res.Messages.Add($"{((fix & CheckRepair.Errors) != 0 ? "Repairing" : "ERROR")} refcount block {i} is outside image");
                if (repair)
                {
                    // The block is past the end: extend the file so it exists (zeroed) and count it.
                    _file.SetLength(offset + _clusterSize);
                    refs.Grow((_file.Length + _clusterSize - 1) >> _clusterBits);
                    res.Corruptions--;
                    res.CorruptionsFixed++;
                    IncrementReferences(res, refs, offset, _clusterSize);
                }
                else if ((fix & CheckRepair.Errors) != 0)
                {
                    rebuild = true;
                    res.Messages.Add("ERROR could not resize image: File too large");
                }

                continue;
            }

            IncrementReferences(res, refs, offset, _clusterSize);
            if (refs[cluster] != 1)
            {
                res.Messages.Add($"ERROR refcount block {i} refcount={refs[cluster]}");
                res.Corruptions++;
                rebuild = true;
            }
        }
    }
}
