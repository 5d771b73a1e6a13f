using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Formats;
using DiskImage.Operations.Info;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg info [-f fmt] [--output=human|json] [--backing-chain] [-U] FILE</c>.</summary>
internal sealed class InfoCommand
{
    private readonly Option<string?> _format = new("-f", "--format") { Description = "Image format (probed when omitted)" };
    private readonly Option<string> _output = new("--output") { Description = "human or json", DefaultValueFactory = _ => "human" };
    private readonly Option<bool> _backingChain = new("--backing-chain") { Description = "Show every image of the backing chain" };
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image");
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Option<bool> _untrusted = UntrustedOption.Create();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new InfoCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("info", "Show information about an image") { _format, _output, _backingChain, _forceShare, _file, _object, _imageOpts, _untrusted };
        command.SetAction(parse =>
        {
            var output = parse.GetValue(_output);
            if (output is not ("human" or "json"))
            {
                throw new InvalidOptionException("--output must be used with human or json as argument.");
            }

            var chain = parse.GetValue(_backingChain);
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            var infos = ImageInspector.Inspect(source.Path, source.Format, chain, source.Apply(new ImageOpenOptions { Untrusted = parse.GetValue(_untrusted), ForceShare = parse.GetValue(_forceShare) }));
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
