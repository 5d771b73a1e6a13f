using System.Security.Cryptography;

namespace DiskImage.IO.Nfs;

/// <summary>
/// A new output on an NFS server that is whole or absent, as <see cref="PartialOutput"/> makes a local one: while it
/// is in effect (on the flow of execution that began it), the file an <c>nfs://</c> target names is created and
/// opened under a temporary name in the same export directory (<c>.NAME.diskimg-partial-</c> and 12 random hex
/// digits), and <see cref="Commit"/> renames it over the target (NFS3 RENAME) when the last byte is written. Disposing
/// without committing removes the temporary file. Only the file changes name: the image keeps the target's node name,
/// so every message names the target. A target that exists and is not a regular file, or a directory that takes no
/// new file, is written in place, as qemu-img writes it.
/// </summary>
internal sealed class NfsStagedOutput : IDisposable
{
    private const uint NewFileMode = 0x180;
    private static readonly AsyncLocal<NfsStagedOutput?> s_current = new();

    private readonly NfsStagedOutput? _previous;
    private readonly NfsTarget _target;
    private readonly string _name;
    private readonly string _temporaryName;
    private uint? _replacedMode;
    private bool _created;
    private bool _inPlace;
    private bool _finished;

    private NfsStagedOutput(NfsTarget target, NfsStagedOutput? previous)
    {
        _target = target;
        _previous = previous;
        _name = target.File.TrimStart('/');
        _temporaryName = $".{_name}{PartialOutput.Marker}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
    }

    /// <summary>
    /// Stages the file <paramref name="url"/> (an <c>nfs://</c> name) names until the result is committed or disposed;
    /// null for a name that does not parse (its creation then fails in qemu-img's words) or whose temporary name
    /// would be too long for one path component.
    /// </summary>
    public static NfsStagedOutput? Begin(string url)
    {
        NfsTarget target;
        try
        {
            target = NfsNode.FromUrl(url);
        }
        catch (DiskImageException)
        {
            return null;
        }

        if (!target.Path.Contains('/', StringComparison.Ordinal))
        {
            return null;
        }

        var staged = new NfsStagedOutput(target, s_current.Value);
        if (!Nfs3Client.IsComponent(staged._temporaryName))
        {
            return null;
        }

        s_current.Value = staged;
        return staged;
    }

    /// <summary>
    /// The file (from the export's root, as <see cref="NfsTarget.File"/>) to create or open for
    /// <paramref name="target"/>: the temporary file while the target is staged, else the target's own.
    /// </summary>
    internal static string FileFor(Nfs3Client client, NfsFileHandle root, NfsTarget target, bool create)
    {
        var staged = s_current.Value;
        if (staged is null || staged._finished || !staged.Stages(target))
        {
            return target.File;
        }

        if (create && !staged._created && !staged._inPlace)
        {
            staged.Decide(client, root);
        }

        return staged._inPlace || !staged._created ? target.File : "/" + staged._temporaryName;
    }

    private bool Stages(NfsTarget target) =>
        target.Host == _target.Host && target.Path == _target.Path && target.User == _target.User && target.Group == _target.Group;

    /// <summary>
    /// At the first creation: reserves the temporary file (GUARDED, so no other file is ever taken for it), unless the
    /// target is something a rename must not replace or the server refuses; the target is then made in place.
    /// </summary>
    private void Decide(Nfs3Client client, NfsFileHandle root)
    {
        try
        {
            try
            {
                var (handle, _) = client.LookupWithType(root, _name, _target.File);
                var existing = client.GetAttributes(handle);
                if (existing.Type != NfsAttributes.RegularFile)
                {
                    _inPlace = true;
                    return;
                }

                // The replacement keeps the replaced file's permissions, as a truncated file would.
                _replacedMode = existing.Mode;
            }
            catch (NfsProtocolException e) when (e.Errno == -2)
            {
                // No file by that name yet.
            }

            client.CreateNew(root, _temporaryName, NewFileMode, "/" + _temporaryName);
            _created = true;
        }
        catch (NfsProtocolException)
        {
            _inPlace = true;
        }
    }

    /// <summary>Renames the finished temporary file over the target.</summary>
    /// <exception cref="ImageAccessException">The server refused the rename; the temporary file is then removed.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (_created && !_inPlace)
        {
            try
            {
                NfsSession.WithExport(_target, (client, root) =>
                {
                    if (_replacedMode is { } mode)
                    {
                        client.SetMode(client.Lookup(root, _temporaryName, "/" + _temporaryName), mode);
                    }

                    client.Rename(root, _temporaryName, _name);
                });
            }
            catch (NfsProtocolException e)
            {
                RemoveTemporary();
                throw new ImageAccessException($"Could not create '{_target.NodeName}': {e.Message}", e);
            }
        }

        End();
    }

    private void RemoveTemporary()
    {
        try
        {
            NfsSession.WithExport(_target, (client, root) => client.Remove(root, _temporaryName));
        }
        catch (Exception e) when (e is NfsProtocolException or DiskImageException)
        {
            // Gone already, or the server cannot be reached: the target's name is untouched either way.
        }
    }

    /// <summary>Removes the temporary file unless <see cref="Commit"/> ran; a server that cannot be reached keeps it.</summary>
    public void Dispose()
    {
        if (_finished)
        {
            return;
        }

        if (_created && !_inPlace)
        {
            RemoveTemporary();
        }

        End();
    }

    private void End()
    {
        _finished = true;
        if (s_current.Value == this)
        {
            s_current.Value = _previous;
        }
    }
}
