using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Operations.Create;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg create [-f fmt] [-o k=v,...] [-b backing -F backing_fmt] [-u] [-q] FILE [SIZE]</c>.</summary>
internal static class CreateCommand
{
    private static readonly Option<string> s_format = new("-f") { Description = "Image format", DefaultValueFactory = _ => "raw" };
    private static readonly Option<string[]> s_options = new("-o") { Description = "Format options, key=value[,key=value...] (may repeat)" };
    private static readonly Option<string?> s_backing = new("-b") { Description = "Backing file" };
    private static readonly Option<string?> s_backingFormat = new("-F") { Description = "Backing file format" };
    private static readonly Option<bool> s_unsafe = new("-u") { Description = "Do not open the backing file" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file to create" };
    private static readonly Option<string[]> s_object = Secrets.ObjectOption();
    private static readonly Argument<string?> s_size = new("size") { Description = "Virtual size (bytes or 512k, 10M, 1G, 1T...)", Arity = ArgumentArity.ZeroOrOne };

    public static Command Create(CliContext context)
    {
        var command = new Command("create", "Create a new image") { s_format, s_options, s_backing, s_backingFormat, s_unsafe, s_quiet, s_file, s_size, s_object };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(s_file)!;
            var options = KeyValueOptions.Parse(parse.GetValue(s_options) ?? []);
            var sizeText = parse.GetValue(s_size);
            var size = sizeText is null ? (long?)null : SizeText.Parse(sizeText, "image size");
            try
            {
                var plan = ImageCreator.Prepare(new CreateRequest
                {
                    Path = path,
                    Format = parse.GetValue(s_format)!,
                    Size = size,
                    Options = options,
                    BackingFile = parse.GetValue(s_backing),
                    BackingFormat = parse.GetValue(s_backingFormat),
                    SkipBackingCheck = parse.GetValue(s_unsafe),
                    SecretProvider = Secrets.Load(parse, s_object).Get,
                });
                if (!parse.GetValue(s_quiet))
                {
                    context.Out.WriteLine(CreateSummary.Describe(plan, options));
                }

                ImageCreator.Execute(plan);
            }
            catch (DiskImageException e)
            {
                // qemu-img names the file in create's errors.
                throw new DiskImageException($"{path}: {e.Message}", e);
            }

            return 0;
        });
        return command;
    }
}
