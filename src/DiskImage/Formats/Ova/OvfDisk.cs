namespace DiskImage.Formats.Ova;

/// <summary>One disk an OVF descriptor lists: the file that holds it, its format URI and its capacity.</summary>
/// <param name="DiskId"><c>ovf:diskId</c>.</param>
/// <param name="File">The referenced file's <c>ovf:href</c>.</param>
/// <param name="Format"><c>ovf:format</c> (for example the streamOptimized VMDK URI).</param>
/// <param name="Capacity">Capacity in bytes (<c>ovf:capacity</c> times <c>ovf:capacityAllocationUnits</c>).</param>
public sealed record OvfDisk(string DiskId, string File, string Format, long Capacity);
