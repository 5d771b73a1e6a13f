using System.Security.Cryptography;
using DiskImage.Options;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace DiskImage.IO.Ssh;

/// <summary>
/// A new output on an SSH server that is whole or absent, as <see cref="PartialOutput"/> makes a local one: while it
/// is in effect (on the flow of execution that began it), the file an <c>ssh://</c> target names is created and
/// opened under a temporary name in the same server directory (<c>.NAME.diskimg-partial-</c> and 12 random hex digits), and
/// <see cref="Commit"/> renames it over the target when the last byte is written. Disposing without committing
/// removes the temporary file. Only the file changes name: the image keeps the target's node name, so every
/// message names the target and relative backing names resolve beside it. A target that exists and is not a
/// regular file, or a directory that takes no new files while the target exists, is written in place.
/// </summary>
internal sealed class SshStagedOutput : IDisposable
{
    private static readonly AsyncLocal<SshStagedOutput?> s_current = new();

    private readonly SshStagedOutput? _previous;
    private readonly SshTarget _target;
    private readonly string _temporaryPath;
    private bool _created;
    private bool _inPlace;
    private bool _finished;

    private SshStagedOutput(SshTarget target, SshStagedOutput? previous)
    {
        _target = target;
        _previous = previous;
        var slash = target.Path.LastIndexOf('/');
        var directory = target.Path[..(slash + 1)];
        var name = target.Path[(slash + 1)..];
        _temporaryPath = $"{directory}.{name}{PartialOutput.Marker}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
    }

    /// <summary>
    /// Stages the file <paramref name="uri"/> (an <c>ssh://</c> name) names until the result is committed or disposed;
    /// null for a name that does not parse, whose creation then fails in qemu-img's words.
    /// </summary>
    public static SshStagedOutput? Begin(string uri)
    {
        SshTarget target;
        try
        {
            target = SshNode.FromUri(uri);
        }
        catch (DiskImageException)
        {
            return null;
        }

        var staged = new SshStagedOutput(target, s_current.Value);
        s_current.Value = staged;
        return staged;
    }

    /// <summary>
    /// The path to create or open on <paramref name="client"/>'s server for <paramref name="target"/>: the temporary
    /// file while the target is staged, else the target's own path.
    /// </summary>
    internal static string PathFor(SftpClient client, SshTarget target, FileMode mode)
    {
        var staged = s_current.Value;
        if (staged is null || staged._finished || !staged.Stages(target))
        {
            return target.Path;
        }

        if (mode != FileMode.Open && !staged._created && !staged._inPlace)
        {
            staged.Decide(client);
        }

        return staged._inPlace || !staged._created ? target.Path : staged._temporaryPath;
    }

    private bool Stages(SshTarget target) =>
        target.Host == _target.Host && target.Port == _target.Port && target.Path == _target.Path && target.User == _target.User;

    /// <summary>
    /// At the first creation: reserves the temporary file, unless the target is something a rename must not replace
    /// or the server refuses the reservation; the target is then made in place, as qemu-img makes it (so a refusal
    /// comes in qemu-img's words, naming the target).
    /// </summary>
    private void Decide(SftpClient client)
    {
        try
        {
            short? mode = null;
            if (client.Exists(_target.Path))
            {
                var existing = client.GetAttributes(_target.Path);
                if (!existing.IsRegularFile)
                {
                    _inPlace = true;
                    return;
                }

                // The replacement keeps the replaced file's permissions, as a truncated file would.
                mode = (short)PermissionBits(existing);
            }

            // Reserved exclusively, so no other file is ever taken for the temporary one.
            using (client.Open(_temporaryPath, FileMode.CreateNew, FileAccess.ReadWrite))
            {
            }

            _created = true;
            if (mode is { } bits)
            {
                client.ChangePermissions(_temporaryPath, bits);
            }
        }
        catch (SshException)
        {
            if (_created)
            {
                Remove(client);
                _created = false;
            }

            _inPlace = true;
        }
    }

    /// <summary>The mode as the SSH library's chmod takes it: the three octal digits written as a decimal number (640).</summary>
    private static int PermissionBits(Renci.SshNet.Sftp.SftpFileAttributes attributes) =>
        (Digit(attributes.OwnerCanRead, attributes.OwnerCanWrite, attributes.OwnerCanExecute) * 100)
        + (Digit(attributes.GroupCanRead, attributes.GroupCanWrite, attributes.GroupCanExecute) * 10)
        + Digit(attributes.OthersCanRead, attributes.OthersCanWrite, attributes.OthersCanExecute);

    private static int Digit(bool read, bool write, bool execute) => (read ? 4 : 0) + (write ? 2 : 0) + (execute ? 1 : 0);

    /// <summary>Renames the finished temporary file over the target (a POSIX rename where the server offers one).</summary>
    /// <exception cref="ImageAccessException">The server refused the rename; the temporary file is then removed.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (_created && !_inPlace)
        {
            var client = SshStorage.ConnectClient(_target, out var agent);
            try
            {
                Rename(client);
            }
            catch (SshException e)
            {
                Remove(client);
                throw new ImageAccessException($"Could not create '{_target.NodeName}': {e.Message}", e);
            }
            finally
            {
                client.Dispose();
                agent?.Dispose();
            }
        }

        End();
    }

    private void Rename(SftpClient client)
    {
        try
        {
            client.RenameFile(_temporaryPath, _target.Path, isPosix: true);
        }
        catch (SshException) when (!client.Exists(_target.Path))
        {
            // A server without posix-rename@openssh.com: SFTP's own rename, which takes a name nothing holds.
            client.RenameFile(_temporaryPath, _target.Path);
        }
    }

    private void Remove(SftpClient client)
    {
        try
        {
            client.DeleteFile(_temporaryPath);
        }
        catch (SshException)
        {
            // Already gone, or the server refuses: the final name is untouched either way.
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
            try
            {
                var client = SshStorage.ConnectClient(_target, out var agent);
                using (client)
                using (agent)
                {
                    Remove(client);
                }
            }
            catch (DiskImageException)
            {
                // The server is gone; nothing was written under the target's name.
            }
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
