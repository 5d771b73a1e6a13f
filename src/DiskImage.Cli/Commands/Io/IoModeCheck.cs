using DiskImage.Operations.Io;

namespace DiskImage.Cli.Commands.Io;

/// <summary>qemu-io's checks of <c>-d</c>, <c>-i</c> and <c>-t</c>, in its order, with its words.</summary>
internal static class IoModeCheck
{
    public static string? Complaint(string? discard, string? aio, string? cache) =>
        discard is not null && !QemuIoOpenModes.TryDiscard(discard, out _) ? $"Invalid discard option: {discard}"
        : aio is not null && !QemuIoOpenModes.IsAio(aio) ? $"Invalid aio option: {aio}"
        : cache is not null && !QemuIoOpenModes.TryCache(cache, out _) ? $"Invalid cache option: {cache}"
        : null;
}
