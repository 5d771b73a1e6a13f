using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>Writes a laid-out image front to back: system area, descriptors, path tables, catalog, directories, continuation areas, file data.</summary>
internal sealed class IsoImageWriter(IsoLayout layout, CancellationToken cancellationToken, IProgress<Operations.OperationProgress>? progress = null)
{
    private const int CopyBuffer = 1 << 20;
    private const int MaxBootImageWithTable = 64 << 20;

    private readonly byte[] _sector = new byte[IsoConstants.SectorSize];
    private long _position;
    private long _skipped;

    public void Write(Stream output)
    {
        var created = layout.Options.SourceDateEpoch ?? DateTimeOffset.UtcNow;
        Report();
        Zeros(output, IsoConstants.FirstDescriptorOffset);
        VolumeDescriptorWriter.WritePrimary(_sector, layout, created);
        Sector(output);
        if (layout.BootImages.Count > 0)
        {
            ElToritoCatalogWriter.WriteBootRecord(_sector, layout.CatalogBlock);
            Sector(output);
        }

        if (layout.Options.Joliet)
        {
            VolumeDescriptorWriter.WriteJoliet(_sector, layout, created);
            Sector(output);
        }

        VolumeDescriptorWriter.WriteTerminator(_sector);
        Sector(output);

        PathTable(output, layout.IsoDirectories, layout.IsoPathTableSize, d => d.IsoName.Bytes, d => d.DirectoryBlock, d => d.PathNumber, bigEndian: false);
        PathTable(output, layout.IsoDirectories, layout.IsoPathTableSize, d => d.IsoName.Bytes, d => d.DirectoryBlock, d => d.PathNumber, bigEndian: true);
        if (layout.Options.Joliet)
        {
            PathTable(output, layout.JolietDirectories, layout.JolietPathTableSize, d => Encoding.BigEndianUnicode.GetBytes(d.JolietName), d => d.JolietDirectoryBlock, d => d.JolietPathNumber, bigEndian: false);
            PathTable(output, layout.JolietDirectories, layout.JolietPathTableSize, d => Encoding.BigEndianUnicode.GetBytes(d.JolietName), d => d.JolietDirectoryBlock, d => d.JolietPathNumber, bigEndian: true);
        }

        if (layout.BootImages.Count > 0)
        {
            ElToritoCatalogWriter.WriteCatalog(_sector, layout.BootImages);
            Sector(output);
        }

        foreach (var directory in layout.IsoDirectories)
        {
            DirectoryExtent(output, layout.IsoRecords(directory), directory.DirectorySize);
        }

        foreach (var directory in layout.JolietDirectories)
        {
            DirectoryExtent(output, layout.JolietRecords(directory), directory.JolietDirectorySize);
        }

        ContinuationAreas(output);
        foreach (var file in layout.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Expect(file.DataBlock);
            FileData(output, file);
            Report();
        }

        Expect(layout.TotalBlocks);
        if (_skipped > 0)
        {
            output.SetLength(_position);
        }

        output.Flush();
        Report();
    }

    /// <summary>Bytes of the image laid down so far (written, or skipped as a hole) of the whole image.</summary>
    private void Report() => progress?.Report(new Operations.OperationProgress(_position, (long)layout.TotalBlocks * IsoConstants.SectorSize));

    private void Expect(uint block)
    {
        if (_position != (long)block * IsoConstants.SectorSize)
        {
            throw new InvalidOperationException($"ISO layout error: at byte {_position}, expected block {block}");
        }
    }

    private void Sector(Stream output)
    {
        output.Write(_sector);
        _position += _sector.Length;
    }

    private void Zeros(Stream output, long count)
    {
        if (count <= 0)
        {
            return;
        }

        if (output.CanSeek)
        {
            output.Seek(count, SeekOrigin.Current);
            _skipped += count;
        }
        else
        {
            var zeros = new byte[Math.Min(count, CopyBuffer)];
            for (var left = count; left > 0; left -= zeros.Length)
            {
                output.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
            }
        }

        _position += count;
    }

    private void PathTable(Stream output, List<IsoBuildNode> directories, uint size, Func<IsoBuildNode, byte[]> name, Func<IsoBuildNode, uint> block, Func<IsoBuildNode, ushort> number, bool bigEndian)
    {
        var table = new byte[RoundUp(size)];
        var position = 0;
        foreach (var directory in directories)
        {
            var identifier = directory.Parent is null ? [0] : name(directory);
            var parentNumber = directory.Parent is null ? (ushort)1 : number(directory.Parent);
            table[position] = (byte)identifier.Length;
            if (bigEndian)
            {
                BinaryPrimitives.WriteUInt32BigEndian(table.AsSpan(position + 2), block(directory));
                BinaryPrimitives.WriteUInt16BigEndian(table.AsSpan(position + 6), parentNumber);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(position + 2), block(directory));
                BinaryPrimitives.WriteUInt16LittleEndian(table.AsSpan(position + 6), parentNumber);
            }

            identifier.CopyTo(table, position + 8);
            position += 8 + identifier.Length + (identifier.Length & 1);
        }

        output.Write(table);
        _position += table.Length;
    }

    private void DirectoryExtent(Stream output, IEnumerable<IsoRecordSpec> records, uint size)
    {
        var extent = new byte[size];
        var sectorStart = 0;
        var used = 0;
        foreach (var record in records)
        {
            if (used + record.Length > IsoConstants.SectorSize)
            {
                sectorStart += IsoConstants.SectorSize;
                used = 0;
            }

            record.Write(extent.AsSpan(sectorStart + used));
            used += record.Length;
        }

        output.Write(extent);
        _position += extent.Length;
    }

    private void ContinuationAreas(Stream output)
    {
        if (layout.ContinuationBlocks == 0)
        {
            return;
        }

        var areas = new byte[layout.ContinuationBlocks * IsoConstants.SectorSize];
        foreach (var directory in layout.IsoDirectories)
        {
            foreach (var chain in new[] { directory.SelfSusp, directory.ParentSusp }.Concat(directory.IsoOrder.Select(c => c.OwnSusp)))
            {
                for (var i = 1; chain is not null && i < chain.Areas.Count; i++)
                {
                    var area = chain.Areas[i];
                    var start = ((area.Block - layout.ContinuationStart) * IsoConstants.SectorSize) + area.Offset;
                    chain.WriteArea(i, areas.AsSpan((int)start));
                }
            }
        }

        output.Write(areas);
        _position += areas.Length;
    }

    private void FileData(Stream output, IsoBuildNode file)
    {
        var boot = layout.BootImages.FirstOrDefault(b => ReferenceEquals(b.Node, file) && b.Image.BootInfoTable);
        if (boot.Node is not null || file.Content is not null)
        {
            var content = file.Content ?? ReadWhole(file);
            if (boot.Node is not null)
            {
                content = (byte[])content.Clone();
                BootInfoTable.Patch(content, file.DataBlock);
            }

            output.Write(content);
            _position += content.Length;
        }
        else
        {
            CopyHostFile(output, file);
        }

        Zeros(output, RoundUp(file.Size) - file.Size);
    }

    private static byte[] ReadWhole(IsoBuildNode file)
    {
        if (file.Size > MaxBootImageWithTable)
        {
            throw new InvalidOptionException($"Boot image '{file.HostPath}' is too large for a boot info table");
        }

        var content = new byte[file.Size];
        using var input = OpenSource(file);
        input.ReadAtLeast(content, content.Length, throwOnEndOfStream: false);
        return content;
    }

    /// <summary>
    /// Copies exactly <c>Size</c> bytes (a file that shrank since it was scanned reads as zeros). Holes in
    /// the source are not read, and all-zero runs become holes in a seekable output.
    /// </summary>
    private void CopyHostFile(Stream output, IsoBuildNode file)
    {
        using var input = IO.HostFile.Open(file.HostPath!, writable: false);
        var buffer = new byte[CopyBuffer];
        foreach (var extent in input.GetExtents(0, file.Size))
        {
            if (extent.Kind != IO.ExtentKind.Data)
            {
                Zeros(output, extent.Length);
                continue;
            }

            for (var done = 0L; done < extent.Length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var want = (int)Math.Min(buffer.Length, extent.Length - done);
                input.Read(extent.Offset + done, buffer.AsSpan(0, want));
                if (output.CanSeek && buffer.AsSpan(0, want).IndexOfAnyExcept((byte)0) < 0)
                {
                    Zeros(output, want);
                }
                else
                {
                    output.Write(buffer, 0, want);
                    _position += want;
                }

                done += want;
                Report();
            }
        }
    }

    private static FileStream OpenSource(IsoBuildNode file)
    {
        try
        {
            return new FileStream(file.HostPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageAccessException($"Could not read '{file.HostPath}': {e.Message}", e);
        }
    }

    private static long RoundUp(long size) => (size + IsoConstants.SectorSize - 1) / IsoConstants.SectorSize * IsoConstants.SectorSize;
}
