namespace DiskImage.IO.Nfs;

/// <summary>The procedures that change a directory's names, for a new output built under a temporary name.</summary>
internal sealed partial class Nfs3Client
{
    private const uint RemoveProc = 12;
    private const uint RenameProc = 14;
    private const uint GuardedCreate = 1;

    /// <summary>Creates <paramref name="name"/> in <paramref name="directory"/> only if nothing has that name (GUARDED).</summary>
    public NfsFileHandle CreateNew(NfsFileHandle directory, string name, uint mode, string shownPath)
    {
        var reply = Call(CreateProc, w =>
        {
            directory.Write(w);
            w.String(name);
            w.UInt32(GuardedCreate);
            w.Bool(true).UInt32(mode).Bool(false).Bool(false).Bool(false).UInt32(0).UInt32(0);
        });
        var status = reply.UInt32();
        if (status != 0)
        {
            NfsAttributes.SkipWcc(reply);
            throw Failure($"NFS: CREATE of {shownPath} failed with", status);
        }

        return reply.Bool() ? NfsFileHandle.Read(reply) : Lookup(directory, name, shownPath);
    }

    /// <summary>Sets the permission bits of <paramref name="file"/>.</summary>
    public void SetMode(NfsFileHandle file, uint mode)
    {
        var reply = Call(SetAttrProc, w =>
        {
            file.Write(w);
            w.Bool(true).UInt32(mode).Bool(false).Bool(false).Bool(false).UInt32(0).UInt32(0);
            w.Bool(false);
        });
        var status = reply.UInt32();
        NfsAttributes.SkipWcc(reply);
        if (status != 0)
        {
            throw Failure("NFS: SETATTR failed with", status);
        }
    }

    /// <summary>Removes the file <paramref name="name"/> from <paramref name="directory"/>.</summary>
    public void Remove(NfsFileHandle directory, string name)
    {
        var reply = Call(RemoveProc, w =>
        {
            directory.Write(w);
            w.String(name);
        });
        var status = reply.UInt32();
        NfsAttributes.SkipWcc(reply);
        if (status != 0)
        {
            throw Failure($"NFS: REMOVE of {name} failed with", status);
        }
    }

    /// <summary>Gives <paramref name="from"/> the name <paramref name="to"/> in <paramref name="directory"/>, replacing a file of that name at once.</summary>
    public void Rename(NfsFileHandle directory, string from, string to)
    {
        var reply = Call(RenameProc, w =>
        {
            directory.Write(w);
            w.String(from);
            directory.Write(w);
            w.String(to);
        });
        var status = reply.UInt32();
        NfsAttributes.SkipWcc(reply);
        NfsAttributes.SkipWcc(reply);
        if (status != 0)
        {
            throw Failure($"NFS: RENAME of {from} failed with", status);
        }
    }
}
