namespace DiskImage.Operations.Io;

/// <summary>What one qemu-io command printed and whether it failed.</summary>
/// <param name="Output">Lines qemu-io prints on standard output.</param>
/// <param name="Error">A line qemu-io prints on standard error, if any.</param>
/// <param name="Failed">True when the command failed (makes the whole run exit 1).</param>
public sealed record IoCommandOutcome(IReadOnlyList<string> Output, string? Error, bool Failed);
