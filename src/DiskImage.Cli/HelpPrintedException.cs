namespace DiskImage.Cli;

/// <summary>Help qemu-img prints while it reads its options; the command line ends there, successfully.</summary>
internal sealed class HelpPrintedException(string text) : Exception(text)
{
    public string Text { get; } = text;
}
