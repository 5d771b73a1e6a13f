using System.Text.RegularExpressions;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>What a command that could not write its output must leave: one error line, and nothing under the output's name.</summary>
public static partial class FailedOutput
{
    /// <summary>
    /// The run failed with one error line, no file is under <paramref name="target"/> in <paramref name="directory"/>,
    /// and no temporary file of ours is left beside it.
    /// </summary>
    public static void AssertAbsent(string directory, string target, ExternalTool.Result result)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(Path.Combine(directory, target)), "a file is under the target's name");
        Assert.Empty(Directory.GetFiles(directory, "*" + PartialOutput.Marker + "*"));
    }

    /// <summary>
    /// An error line with the offset of a failed write made <c>at byte N</c>: where the space runs out depends on each
    /// tool's request sizes, the words do not.
    /// </summary>
    public static string AnyByte(string line) => AtByte().Replace(line, "at byte N");

    [GeneratedRegex("at byte [0-9]+")]
    private static partial Regex AtByte();
}
