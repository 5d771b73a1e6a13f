namespace DiskImage.IO.Iscsi;

/// <summary>The target broke the protocol or the connection failed; the message is the one line the user sees.</summary>
internal sealed class IscsiProtocolException(string message) : Exception(message);
