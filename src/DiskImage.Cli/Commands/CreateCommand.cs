using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Operations.Create;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg create [-f fmt] [-o k=v,...] [-b backing -F backing_fmt] [-u] [-q] FILE [SIZE]</c>.</summary>
internal sealed class CreateCommand
{
    private readonly Option<string> _format = new("-f") { Description = "Image format", DefaultValueFactory = _ => "raw" };
    private readonly Option<string[]> _options = new("-o") { Description = "Format options, key=value[,key=value...] (may repeat)" };
    private readonly Option<string?> _backing = new("-b") { Description = "Backing file" };
    private readonly Option<string?> _backingFormat = new("-F") { Description = "Backing file format" };
    private readonly Option<bool> _unsafe = new("-u") { Description = "Do not open the backing file" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet" };
    private readonly Argument<string?> _file = new("filename") { Description = "Image file to create", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Argument<string?> _size = new("size") { Description = "Virtual size (bytes or 512k, 10M, 1G, 1T...)", Arity = ArgumentArity.ZeroOrOne };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new CreateCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("create", "Create a new image") { _format, _options, _backing, _backingFormat, _unsafe, _quiet, _file, _size, _object };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(_file);
            if (CreateOptionHelp.AsksForHelp(parse.GetValue(_options) ?? []))
            {
                return CreateOptionHelp.PrintCreate(context, parse.GetValue(_format)!, path);
            }

            if (path is null)
            {
                throw new UsageException("Expecting image file name");
            }

            var options = KeyValueOptions.Parse(parse.GetValue(_options) ?? []);
            var sizeText = parse.GetValue(_size);
            var size = sizeText is null ? (long?)null : SizeText.ParseImageSize(sizeText);
            using var secrets = Secrets.Load(parse, _object);
            try
            {
                var plan = ImageCreator.Prepare(new CreateRequest
                {
                    Path = path,
                    Format = parse.GetValue(_format)!,
                    Size = size,
                    Options = options,
                    BackingFile = parse.GetValue(_backing),
                    BackingFormat = parse.GetValue(_backingFormat),
                    SkipBackingCheck = parse.GetValue(_unsafe),
                    SecretProvider = secrets.Get,
                });
                if (!parse.GetValue(_quiet))
                {
                    context.Out.WriteLine(CreateSummary.Describe(plan, options));
                }

                ImageCreator.Execute(plan, context.Cancellation);
            }
            catch (ImageLockedException e)
            {
                throw new ImageLockedException($"{path}: {e.Message}", e.FileName ?? path);
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
