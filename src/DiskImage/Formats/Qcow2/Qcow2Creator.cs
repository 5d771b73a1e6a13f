using System.Buffers.Binary;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Creates qcow2 images the way qemu-img does: header cluster, one refcount table cluster, one refcount
/// block describing the first clusters, then the L1 table allocated through the normal allocator, then
/// preallocation.
/// </summary>
internal static class Qcow2Creator
{
    public static void Create(string path, Qcow2CreateOptions options)
    {
        options = Qcow2OptionParser.Validate(options);
        var size = options.Size ?? BackingSize(path, options)
            ?? throw new InvalidOptionException("Image creation needs a size parameter");
        if (size < 0)
        {
            throw new InvalidOptionException("Image size must be non-negative");
        }

        // The secret is looked up before the file exists, so a missing one leaves nothing behind.
        var passphrase = options.Encryption is { } encryption
            ? Crypto.EncryptionSecrets.Require(options.SecretProvider, encryption.KeySecret)
            : null;

        // qcow2 sizes are whole sectors; qemu-img rounds up.
        size = size > long.MaxValue - 511 ? size : (size + 511) & ~511L;
        CheckSizeFits(size, options.ClusterSize, options.ExtendedL2);
        var header = BuildHeader(options);
        if (options.LegacyAesKeySecret is { } aesSecret)
        {
            // The secret must exist, as for qemu-img; the header then only records the method.
            Crypto.EncryptionSecrets.Require(options.SecretProvider, aesSecret);
        }

        if (options.DataFile is { } dataName && (dataName == path || (FileIdentity.Of(dataName) is { } data && FileIdentity.Of(path) == data)))
        {
            throw new ImageAccessException($"The external data file '{dataName}' is the image file itself");
        }

        var preallocation = options.DataFileRaw && options.Preallocation == Preallocation.Off ? Preallocation.Metadata : options.Preallocation;
        HostFile? dataFile = null;
        using (var file = CreateStorage(path))
        {
            var clusterSize = header.ClusterSize;
            var first = new byte[3 * clusterSize];
            header.Serialize().CopyTo(first, 0);
            BinaryPrimitives.WriteUInt64BigEndian(first.AsSpan(clusterSize), 2UL * (ulong)clusterSize);
            var refblock = first.AsSpan(2 * clusterSize, clusterSize);
            for (var cluster = 0; cluster < 3; cluster++)
            {
                Qcow2RefcountBlock.Set(refblock, cluster, header.RefcountOrder, 1);
            }

            WriteFirstClusters(file, first, path);
        }

        try
        {
            if (options.DataFile is { } dataPath)
            {
                // Created (or emptied) after the image file, at the virtual size, as QEMU's file driver creates it.
                dataFile = HostFile.Create(dataPath);
                FillDataFile(dataFile, size, preallocation);
                dataFile.Dispose();
            }

            using (var image = Qcow2Image.Open(path, new ImageOpenOptions { ReadOnly = false, OpenBackingChain = false }))
            {
                image.InitializeNew(size, preallocation);
                if (options.Encryption is not null)
                {
                    image.SetUpEncryption(options.Encryption, passphrase);
                    image.ZeroPreallocatedClusters();
                }
            }

            if (options.LegacyAesKeySecret is not null)
            {
                // Marked last: the image is laid out as a plain one (nothing is encrypted yet), then records the method.
                Span<byte> method = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(method, Qcow2Constants.CryptAes);
                using var file = HostFile.Open(path, writable: true);
                file.Write(Qcow2Header.FieldOffsets.CryptMethod, method);
                file.Flush();
            }
        }
        catch
        {
            // As qemu-img: a create that fails leaves no half-made image behind, nor a data file it created.
            FailedCreate.Remove(path);
            if (dataFile is not null)
            {
                dataFile.Dispose();
                FailedCreate.Remove(dataFile.Path);
            }

            throw;
        }
    }

    /// <summary>
    /// Writes the header, refcount table and first refcount block. A write that fails (a full disk) is reported in
    /// qemu-img's words, <c>Could not write qcow2 header: ...</c>, and the file is removed, as qemu-img removes it.
    /// </summary>
    private static void WriteFirstClusters(IStorage file, byte[] first, string path)
    {
        try
        {
            file.Write(0, first);
        }
        catch (IOException e)
        {
            // Unlinked while still open: the caller's using closes it.
            FailedCreate.Remove(path);
            throw new ImageAccessException($"Could not write qcow2 header: {ErrnoText.Describe(e, path)}", e);
        }
    }

    /// <summary>
    /// The container the new image is written into. An NBD export or iSCSI LUN already exists and keeps its size (QEMU's protocol
    /// fallback for storage that cannot be created): it is opened, and its first sector zeroed so that no old header
    /// survives a failure; a file is created (or emptied).
    /// </summary>
    private static IStorage CreateStorage(string path)
    {
        if (Options.SshNode.IsSshUri(path))
        {
            return IO.Ssh.SshStorage.Create(Options.SshNode.FromUri(path));
        }

        if (IO.Nfs.NfsUrl.IsNfs(path))
        {
            // QEMU creates the protocol file with size 0 under a format (the format's own size is not passed down).
            return IO.Nfs.NfsStorage.Create(IO.Nfs.NfsNode.FromUrl(path), 0);
        }

        var lun = IO.Iscsi.IscsiNode.IsIscsi(path);
        if (!Nbd.Client.NbdUri.IsNbd(path) && !lun)
        {
            return HostFile.Create(path);
        }

        IStorage export = lun ? OpenLun(path) : Nbd.Client.NbdStorage.Open(path, writable: true);
        try
        {
            export.WriteZeroes(0, Math.Min(export.Length, 512), mayUnmap: true);
            return export;
        }
        catch
        {
            export.Dispose();
            throw;
        }
    }

    /// <summary>The LUN a qcow2 image is laid out in; a failed open is QEMU's fallback failure for a driver without creation.</summary>
    private static IO.Iscsi.IscsiStorage OpenLun(string path)
    {
        try
        {
            return IO.Iscsi.IscsiStorage.Open(path, writable: true);
        }
        catch (DiskImageException e)
        {
            e.PrependContext(QemuFormatNames.OpenInsteadOfCreatePrefix("iscsi"));
            throw;
        }
    }

    /// <summary>A new data file at <paramref name="size"/> bytes, allocated as <paramref name="preallocation"/> asks of a file.</summary>
    private static void FillDataFile(HostFile file, long size, Preallocation preallocation)
    {
        switch (preallocation)
        {
            case Preallocation.Full:
                file.WriteZeroBytes(0, size);
                break;
            case Preallocation.Falloc when file.TryAllocate(0, size):
                break;
            default:
                file.SetLength(size);
                break;
        }

        file.Flush();
    }

    /// <summary>
    /// The L1 table that maps <paramref name="size"/> bytes must fit QEMU's limit; checked before the file
    /// exists, with qemu-img's message, and without arithmetic that could overflow.
    /// </summary>
    private static void CheckSizeFits(long size, int clusterSize, bool extendedL2)
    {
        var clusterBits = int.Log2(clusterSize);
        var clusters = (size >> clusterBits) + ((size & (clusterSize - 1)) != 0 ? 1 : 0);
        var l2Bits = clusterBits - (extendedL2 ? 4 : 3);
        var l1Entries = (clusters >> l2Bits) + ((clusters & ((1L << l2Bits) - 1)) != 0 ? 1 : 0);
        if (l1Entries > Qcow2Constants.MaxL1Bytes / 8)
        {
            throw new InvalidOptionException("The image size is too large for file format 'qcow2' (try using a larger cluster size)");
        }
    }

    private static long? BackingSize(string path, Qcow2CreateOptions options)
    {
        if (options.BackingFile is null || options.SkipBackingCheck)
        {
            return null;
        }

        var registry = options.Registry ?? ImageFormatRegistry.Default;
        // As qemu-img create: the backing file is only looked at, so it may be in use by anyone.
        using var backing = registry.Open(Qcow2Image.ResolveBackingPath(path, options.BackingFile), options.BackingFormat, new ImageOpenOptions { ForceShare = true });
        return backing.Length;
    }

    private static Qcow2Header BuildHeader(Qcow2CreateOptions options)
    {
        var extensions = new List<Qcow2HeaderExtension>();
        if (options.BackingFile is not null && options.BackingFormat is not null)
        {
            extensions.Add(new Qcow2HeaderExtension(Qcow2Constants.ExtensionBackingFormat, Encoding.UTF8.GetBytes(options.BackingFormat)));
        }

        if (options.DataFile is not null)
        {
            extensions.Add(new Qcow2HeaderExtension(Qcow2Constants.ExtensionDataFile, Encoding.UTF8.GetBytes(options.DataFile)));
        }

        // qemu-img 7.2 writes the feature-name table only for version 3 with clusters above 4 KiB.
        if (options.Version >= 3 && options.ClusterSize > 4096)
        {
            extensions.Add(new Qcow2HeaderExtension(Qcow2Constants.ExtensionFeatureTable, FeatureTable()));
        }

        ulong incompatible = 0;
        if (options.ExtendedL2)
        {
            incompatible |= Qcow2Constants.IncompatibleExtendedL2;
        }

        if (options.CompressionType != Qcow2CompressionType.Zlib)
        {
            incompatible |= Qcow2Constants.IncompatibleCompressionType;
        }

        if (options.DataFile is not null)
        {
            incompatible |= Qcow2Constants.IncompatibleDataFile;
        }

        if (options.BackingFile is not null && Encoding.UTF8.GetByteCount(options.BackingFile) > Qcow2Constants.MaxBackingFileNameLength)
        {
            throw new InvalidOptionException("Backing file name too long");
        }

        return new Qcow2Header
        {
            Version = options.Version,
            ClusterBits = int.Log2(options.ClusterSize),
            Size = 0,
            L1Size = 0,
            L1TableOffset = 0,
            RefcountTableOffset = options.ClusterSize,
            RefcountTableClusters = 1,
            IncompatibleFeatures = incompatible,
            CompatibleFeatures = options.LazyRefcounts ? Qcow2Constants.CompatibleLazyRefcounts : 0,
            AutoclearFeatures = options.DataFileRaw ? Qcow2Constants.AutoclearDataFileRaw : 0,
            RefcountOrder = int.Log2(options.RefcountBits),
            HeaderLength = options.Version >= 3 ? Qcow2Constants.Version3HeaderLength : Qcow2Constants.Version2HeaderLength,
            CompressionType = options.CompressionType,
            Extensions = extensions,
            BackingFile = options.BackingFile,
        };
    }

    internal static byte[] FeatureTable()
    {
        var table = new byte[Qcow2FeatureName.Standard.Count * Qcow2FeatureName.EntrySize];
        for (var i = 0; i < Qcow2FeatureName.Standard.Count; i++)
        {
            var feature = Qcow2FeatureName.Standard[i];
            var entry = table.AsSpan(i * Qcow2FeatureName.EntrySize, Qcow2FeatureName.EntrySize);
            entry[0] = feature.Type;
            entry[1] = feature.Bit;
            Encoding.ASCII.GetBytes(feature.Name).CopyTo(entry[2..]);
        }

        return table;
    }
}
