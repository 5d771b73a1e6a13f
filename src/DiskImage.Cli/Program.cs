using DiskImage.Cli;

return DiskImageCli.Run(args);
