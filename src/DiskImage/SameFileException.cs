namespace DiskImage;

/// <summary>An output names a file that is also an input (or part of an input's backing chain); refused before anything is written.</summary>
public class SameFileException : InvalidOptionException
{
    public SameFileException() { }

    public SameFileException(string message) : base(message) { }

    public SameFileException(string message, Exception innerException) : base(message, innerException) { }
}
