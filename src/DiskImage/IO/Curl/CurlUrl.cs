namespace DiskImage.IO.Curl;

/// <summary>The URL schemes QEMU's curl drivers claim in a plain file name (matched case-sensitively, as QEMU does).</summary>
internal static class CurlUrl
{
    /// <summary>The curl driver a file name selects (<c>http</c>, <c>https</c>, <c>ftp</c>, <c>ftps</c>), or null.</summary>
    public static string? SchemeOf(string name) =>
        name.StartsWith("http://", StringComparison.Ordinal) ? "http"
        : name.StartsWith("https://", StringComparison.Ordinal) ? "https"
        : name.StartsWith("ftp://", StringComparison.Ordinal) ? "ftp"
        : name.StartsWith("ftps://", StringComparison.Ordinal) ? "ftps"
        : null;

    /// <summary>
    /// qemu-img's refusal to create an image at a URL: the curl drivers are read-only and have no creation, which
    /// qemu-img finds before anything else about the new image. Null when the name is no curl URL.
    /// </summary>
    public static string? CreationRefusal(string name) =>
        SchemeOf(name) is { } scheme ? $"Protocol driver '{scheme}' does not support image creation" : null;

    /// <summary>
    /// A relative name beside the file at <paramref name="url"/>, as QEMU combines a backing file name with its
    /// overlay's: everything up to the URL's last slash, then the name.
    /// </summary>
    public static string Sibling(string url, string name)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var lastSlash = url.LastIndexOf('/');
        return (lastSlash >= schemeEnd ? url[..(lastSlash + 1)] : url[..schemeEnd]) + name;
    }
}
