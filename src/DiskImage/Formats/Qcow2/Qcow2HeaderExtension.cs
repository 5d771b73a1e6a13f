namespace DiskImage.Formats.Qcow2;

/// <summary>One header extension as stored: its magic and payload, kept byte-for-byte so rewrites preserve it.</summary>
internal sealed record Qcow2HeaderExtension(uint Magic, byte[] Data);
