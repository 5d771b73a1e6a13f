using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Formats;
using DiskImage.Operations.Info;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg info [-f fmt] [--output=human|json] [--backing-chain] [-U] FILE</c>.</summary>
internal static class InfoCommand
{
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<string> s_output = new("--output") { Description = "human or json", DefaultValueFactory = _ => "human" };
    private static readonly Option<bool> s_backingChain = new("--backing-chain") { Description = "Show every image of the backing chain" };
    private static readonly Option<bool> s_forceShare = new("-U", "--force-share") { Description = "Open the image read-only without locking (always the case here)" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };
    private static readonly Option<string[]> s_object = Secrets.ObjectOption();
    private static readonly Option<bool> s_imageOpts = Secrets.ImageOptsOption();
    private static readonly Option<bool> s_untrusted = UntrustedOption.Create();

    public static Command Create(CliContext context)
    {
        var command = new Command("info", "Show information about an image") { s_format, s_output, s_backingChain, s_forceShare, s_file, s_object, s_imageOpts, s_untrusted };
        command.SetAction(parse =>
        {
            var output = parse.GetValue(s_output);
            if (output is not ("human" or "json"))
            {
                throw new InvalidOptionException("--output must be used with human or json as argument.");
            }

            var chain = parse.GetValue(s_backingChain);
            var source = Secrets.Resolve(parse.GetValue(s_file)!, parse.GetValue(s_imageOpts), parse.GetValue(s_format), Secrets.Load(parse, s_object));
            var infos = ImageInspector.Inspect(source.Path, source.Format, chain, source.Apply(new ImageOpenOptions { Untrusted = parse.GetValue(s_untrusted) }));
            if (output == "json")
            {
                JsonOutput.Print(context.Out, writer =>
                {
                    if (!chain)
                    {
                        JsonOutput.WriteObject(writer, ImageInfoFields.Describe(infos[0]));
                        return;
                    }

                    writer.WriteStartArray();
                    foreach (var info in infos)
                    {
                        JsonOutput.WriteObject(writer, ImageInfoFields.Describe(info));
                    }

                    writer.WriteEndArray();
                });
                return 0;
            }

            for (var i = 0; i < infos.Count; i++)
            {
                if (i > 0)
                {
                    context.Out.WriteLine();
                }

                ImageInfoText.Write(context.Out, infos[i]);
            }

            return 0;
        });
        return command;
    }
}
