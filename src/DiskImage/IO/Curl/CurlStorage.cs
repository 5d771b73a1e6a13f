using System.Text;

namespace DiskImage.IO.Curl;

/// <summary>
/// A file on an HTTP(S) or FTP(S) server as the read-only storage under an image format (QEMU's curl drivers): the
/// size and the bytes from an <see cref="IRangeClient"/> (<see cref="HttpRangeClient"/>, <see cref="FtpRangeClient"/>),
/// read through a <see cref="ReadaheadCache"/>. Opening fails as QEMU's
/// driver fails (<c>CURL: Error opening file: ...</c>); a failed read reports <c>curl: ...</c> as a warning and fails
/// with EIO, as QEMU's does. Every write is refused.
/// </summary>
internal sealed class CurlStorage : IStorage
{
    private static readonly AsyncLocal<CurlOptions?> s_given = new();
    private static Func<string, byte[]?>? s_secrets;

    private readonly IRangeClient _client;
    private readonly ReadaheadCache _cache;

    private CurlStorage(IRangeClient client, string url, long length, long readahead)
    {
        _client = client;
        Path = url;
        Length = length;
        _cache = new ReadaheadCache(client.Fetch, length, readahead);
    }

    /// <summary>QEMU's words when a curl node is opened for writing.</summary>
    public const string WriteRefusal = "curl driver does not support writes";

    /// <summary>Whether <paramref name="name"/> is a URL a curl driver takes (<c>http://</c>, <c>https://</c>, <c>ftp://</c>, <c>ftps://</c>).</summary>
    public static bool IsCurlUrl(string name) => CurlUrl.SchemeOf(name) is not null;

    /// <summary>
    /// Makes the options given for a curl node (in a <c>json:</c> name or <c>--image-opts</c>) the ones its URL is opened
    /// with until the result is disposed (in this execution context), as QEMU's node carries them. Any other URL, and
    /// this one outside the scope, opens with the defaults. Null leaves the defaults in force.
    /// </summary>
    public static IDisposable Given(CurlOptions? options)
    {
        var previous = s_given.Value;
        s_given.Value = options ?? previous;
        return new Restore(previous);
    }

    private sealed class Restore(CurlOptions? previous) : IDisposable
    {
        public void Dispose() => s_given.Value = previous;
    }

    /// <summary>Where the secrets named by <c>cookie-secret</c>, <c>password-secret</c> and <c>proxy-password-secret</c> are looked up.</summary>
    public static void UseSecrets(Func<string, byte[]?> lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        s_secrets = lookup;
    }

    /// <summary>Opens the URL <paramref name="name"/>; <paramref name="writable"/> is refused in QEMU's words.</summary>
    public static CurlStorage Open(string name, bool writable)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (writable)
        {
            throw new ImageAccessException(WriteRefusal);
        }

        var options = s_given.Value is { } given && given.Url == name ? given : CurlOptions.ForUrl(CurlUrl.SchemeOf(name) ?? throw new ArgumentException("Not a curl URL", nameof(name)), name);
        var cookie = Secret(options.CookieSecret);
        var password = Secret(options.PasswordSecret);
        var proxyPassword = Secret(options.ProxyPasswordSecret);
        try
        {
            // libcurl sends no cookie and uses no proxy credentials for FTP.
            IRangeClient client = options.Protocol is "ftp" or "ftps" ? new FtpRangeClient(options, password)
                : new HttpRangeClient(options, password, proxyPassword, cookie);
            try
            {
                return new CurlStorage(client, options.Url, client.Size(), options.Readahead);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }
        catch (CurlTransferException e)
        {
            throw new ImageAccessException("CURL: Error opening file: " + e.Message, e);
        }
    }

    private static string? Secret(string? id)
    {
        if (id is null)
        {
            return null;
        }

        var bytes = s_secrets?.Invoke(id) ?? throw new InvalidOptionException($"No secret with id '{id}'");
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidOptionException($"Data from secret {id} is not valid UTF-8");
        }
    }

    /// <inheritdoc/>
    public string Path { get; }

    /// <inheritdoc/>
    public bool CanWrite => false;

    /// <inheritdoc/>
    public long Length { get; }

    /// <summary>A server does not say how much space the file takes (qemu-img's "unavailable").</summary>
    public long? AllocatedSize => null;

    /// <inheritdoc/>
    public bool IgnoreFlushes { get; set; }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        try
        {
            _cache.Read(offset, buffer);
        }
        catch (CurlTransferException e)
        {
            // QEMU's driver prints libcurl's message, and the request fails with EIO.
            ImageWarnings.Report("curl: " + e.Message);
            throw new ErrnoException(ErrnoException.EIO, ErrnoException.Text(ErrnoException.EIO));
        }
    }

    /// <inheritdoc/>
    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = (int)Math.Clamp(Length - offset, 0, buffer.Length);
        Read(offset, buffer[..count]);
        return count;
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data) => throw ReadOnly();

    /// <inheritdoc/>
    public void SetLength(long length)
    {
        if (length != Length)
        {
            throw ReadOnly();
        }
    }

    /// <summary>Nothing is ever written, so there is nothing to flush.</summary>
    public void Flush()
    {
    }

    /// <inheritdoc/>
    public bool TryAllocate(long offset, long length) => false;

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap) => throw ReadOnly();

    /// <inheritdoc/>
    public void Discard(long offset, long length) => throw ReadOnly();

    /// <inheritdoc/>
    public void WriteZeroBytes(long offset, long length) => throw ReadOnly();

    /// <summary>The driver has no block status: every byte up to the end is data, as QEMU reports it.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        var result = new List<Extent>();
        var dataEnd = Math.Clamp(Length, offset, offset + length);
        HostFile.Add(result, new Extent(offset, dataEnd - offset, ExtentKind.Data));
        HostFile.Add(result, new Extent(dataEnd, offset + length - dataEnd, ExtentKind.Zero));
        return result;
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();

    private static ErrnoException ReadOnly() => new(ErrnoException.EPERM, ErrnoException.Text(ErrnoException.EPERM));
}
