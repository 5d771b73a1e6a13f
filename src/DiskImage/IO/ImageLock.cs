using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DiskImage.IO;

/// <summary>
/// QEMU's image locking on one open file: for each permission bit <c>i</c> held, a shared lock on byte
/// <c>100 + i</c>; for each bit refused to others, a shared lock on byte <c>200 + i</c>. A conflict is found by
/// asking whether an exclusive lock could be had on the bytes that matter: <c>200 + i</c> for each permission
/// wanted (someone refuses it), <c>100 + i</c> for each permission refused (someone holds it).
/// Open-file-description locks belong to the open file, so two opens in one process contend as two processes do.
/// </summary>
public sealed class ImageLock
{
    private const int PermissionBase = 100;
    private const int SharedBase = 200;
    private const int PermissionBits = 4;

    /// <summary>How often a conflict is checked before it is reported; the wait before each recheck doubles.</summary>
    private const int ConflictChecks = 7;

    /// <summary>The wait before the first recheck; all six together come to 630 ms.</summary>
    private const int FirstRecheckDelayMs = 10;

    private static readonly Lazy<bool> OfdLocksWork = new(ProbeOfdLocks);

    private readonly SafeFileHandle _handle;
    private readonly int _setCommand;
    private readonly int _getCommand;
    private readonly string _name;
    private LockPermissions _lockedPermissions;
    private LockPermissions _lockedRefusals;

    private ImageLock(SafeFileHandle handle, bool ofd, string name)
    {
        _handle = handle;
        _setCommand = ofd ? LinuxFileCalls.FOfdSetLk : LinuxFileCalls.FSetLk;
        _getCommand = ofd ? LinuxFileCalls.FOfdGetLk : LinuxFileCalls.FGetLk;
        _name = name;
    }

    /// <summary>The permissions held.</summary>
    public LockPermissions Permissions { get; private set; }

    /// <summary>The permissions others may hold.</summary>
    public LockPermissions Shared { get; private set; } = LockPermissions.All;

    /// <summary>Whether this kernel has open-file-description locks (probed once, as QEMU does, on <c>/dev/null</c>).</summary>
    public static bool HasOfdLocks => OfdLocksWork.Value;

    /// <summary>
    /// Locks <paramref name="handle"/> as <paramref name="request"/> asks, or returns null where no lock is
    /// taken (locking off, or <see cref="ImageLocking.Auto"/> on a kernel without open-file-description locks).
    /// Throws <see cref="ImageLockedException"/> on a conflict.
    /// </summary>
    public static ImageLock? Acquire(SafeFileHandle handle, LockRequest request)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (request.Locking == ImageLocking.Off || !LinuxFileCalls.LocksAvailable)
        {
            return null;
        }

        var ofd = HasOfdLocks;
        if (!ofd && request.Locking == ImageLocking.Auto)
        {
            return null;
        }

        var imageLock = new ImageLock(handle, ofd, request.Name);
        imageLock.Change(request.Permissions, request.Shared);
        return imageLock;
    }

    /// <summary>
    /// Moves to new permissions: takes the added bytes, checks for conflicts, then drops the bytes no longer
    /// needed. On a conflict the previous state is restored and <see cref="ImageLockedException"/> thrown.
    /// </summary>
    public void Change(LockPermissions permissions, LockPermissions shared)
    {
        permissions &= LockPermissions.All;
        shared &= LockPermissions.All;
        var onlyDropping = (Permissions | permissions) == Permissions && (Shared & shared) == Shared;
        if (!onlyDropping)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    Apply(Permissions | permissions, ~Shared | ~shared, unlock: false);
                    Check(permissions, shared);
                    break;
                }
                catch (ImageLockedException) when (attempt < ConflictChecks)
                {
                    // A child another thread of this process is forking shares every descriptor until it execs, so a
                    // file this process has just closed can look held for a moment (longer on a loaded machine, where
                    // the child waits to be scheduled); a real holder is still there later.
                    Thread.Sleep(FirstRecheckDelayMs << (attempt - 1));
                }
                catch (DiskImageException)
                {
                    TryApply(Permissions, ~Shared, unlock: true);
                    throw;
                }
            }
        }

        TryApply(permissions, ~shared, unlock: true);
        Permissions = permissions;
        Shared = shared;
    }

    private void Apply(LockPermissions held, LockPermissions refused, bool unlock)
    {
        ApplyRange(PermissionBase, held & LockPermissions.All, ref _lockedPermissions, unlock);
        ApplyRange(SharedBase, refused & LockPermissions.All, ref _lockedRefusals, unlock);
    }

    private void TryApply(LockPermissions held, LockPermissions refused, bool unlock)
    {
        try
        {
            Apply(held, refused, unlock);
        }
        catch (DiskImageException)
        {
            // Only unlocking happens here; QEMU also carries on when that fails.
        }
    }

    private void ApplyRange(int baseOffset, LockPermissions wanted, ref LockPermissions locked, bool unlock)
    {
        for (var i = 0; i < PermissionBits; i++)
        {
            var bit = (LockPermissions)(1 << i);
            var offset = baseOffset + i;
            if (wanted.HasFlag(bit) && !locked.HasFlag(bit))
            {
                var error = SetLock(offset, LinuxFileCalls.FRdLck);
                if (error != 0)
                {
                    throw new ImageAccessException(WithErrno($"Failed to lock byte {offset}", error));
                }

                locked |= bit;
            }
            else if (unlock && locked.HasFlag(bit) && !wanted.HasFlag(bit))
            {
                var error = SetLock(offset, LinuxFileCalls.FUnLck);
                if (error != 0)
                {
                    throw new ImageAccessException($"Failed to unlock byte {offset}: {Marshal.GetPInvokeErrorMessage(error)}");
                }

                locked &= ~bit;
            }
        }
    }

    private void Check(LockPermissions permissions, LockPermissions shared)
    {
        for (var i = 0; i < PermissionBits; i++)
        {
            var bit = (LockPermissions)(1 << i);
            if (permissions.HasFlag(bit))
            {
                ThrowIfTaken(SharedBase + i, $"Failed to get \"{LockPermissionNames.Name(bit)}\" lock");
            }
        }

        for (var i = 0; i < PermissionBits; i++)
        {
            var bit = (LockPermissions)(1 << i);
            if (!shared.HasFlag(bit))
            {
                ThrowIfTaken(PermissionBase + i, $"Failed to get shared \"{LockPermissionNames.Name(bit)}\" lock");
            }
        }
    }

    private void ThrowIfTaken(int offset, string message)
    {
        var query = new LinuxFileCalls.FLock { Type = LinuxFileCalls.FWrLck, Start = offset, Length = 1 };
        var error = 0;
        if (LinuxFileCalls.FcntlLock(_handle.DangerousGetHandle(), _getCommand, ref query) != 0)
        {
            error = Marshal.GetLastPInvokeError();
        }
        else if (query.Type != LinuxFileCalls.FUnLck)
        {
            error = LinuxFileCalls.EAGAIN;
        }

        if (error != 0)
        {
            throw new ImageLockedException(WithErrno(message, error), _name);
        }
    }

    private int SetLock(int offset, short type)
    {
        var request = new LinuxFileCalls.FLock { Type = type, Start = offset, Length = 1 };
        while (true)
        {
            if (LinuxFileCalls.FcntlLock(_handle.DangerousGetHandle(), _setCommand, ref request) == 0)
            {
                return 0;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error != LinuxFileCalls.EINTR)
            {
                return error;
            }
        }
    }

    /// <summary>As QEMU: a lock held by someone else is reported without errno text, anything else with it.</summary>
    private static string WithErrno(string message, int error) =>
        error is LinuxFileCalls.EAGAIN or LinuxFileCalls.EACCES ? message : $"{message}: {Marshal.GetPInvokeErrorMessage(error)}";

    private static bool ProbeOfdLocks()
    {
        if (!LinuxFileCalls.LocksAvailable)
        {
            return false;
        }

        try
        {
            using var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
            var query = new LinuxFileCalls.FLock { Type = LinuxFileCalls.FWrLck };
            return LinuxFileCalls.FcntlLock(devNull.DangerousGetHandle(), LinuxFileCalls.FOfdGetLk, ref query) == 0
                || Marshal.GetLastPInvokeError() != LinuxFileCalls.EINVAL;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
