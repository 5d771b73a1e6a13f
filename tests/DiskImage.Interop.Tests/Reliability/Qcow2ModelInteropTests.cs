using CsCheck;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Tests.Reliability;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The qcow2 model judged by QEMU: after each random sequence, <c>qemu-img check</c> must find the image
/// clean and <c>qemu-img compare</c> must find it identical to the model's bytes. The configurations include
/// compat 0.10 overlays, LUKS-encrypted and preallocated images.
/// <c>DISKIMG_MODEL_ITERATIONS</c> raises the budget for long local runs.
/// </summary>
public class Qcow2ModelInteropTests
{
    private static readonly int s_iterations =
        int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_MODEL_ITERATIONS"), out var n) ? n : 25;

    [Fact]
    public void Images_left_by_random_sequences_pass_qemu_img_check_and_compare()
    {
        ExternalTool.Require("qemu-img");
        Gen.Select(Qcow2Model.Configs, Qcow2Model.Operations.List[1, 40])
            .Sample((config, ops) =>
            {
                using var dir = new TempDirectory();
                var outcome = Qcow2Model.Run(config, ops, dir.Path);
                var expected = dir.File("expected.raw");
                File.WriteAllBytes(expected, outcome.Expected);

                // Encrypted images are named with their secret, as qemu-img needs it; the same passphrase opens every copy.
                string[] secret = ["--object", $"secret,id={Qcow2Model.SecretId},data={Qcow2Model.Passphrase}"];
                string[] image = config.Encrypted
                    ? ["--image-opts", $"driver=qcow2,file.filename={outcome.ImagePath},encrypt.key-secret={Qcow2Model.SecretId}"]
                    : ["-f", "qcow2", outcome.ImagePath];
                var check = ExternalTool.Run("qemu-img", ["check", .. secret, .. image]);
                Assert.True(check.ExitCode == 0, $"{config}: qemu-img check exit {check.ExitCode}: {check.StdOut}{check.StdErr}");
                var compare = config.Encrypted
                    ? ExternalTool.Run("qemu-img", ["compare", .. secret, "--image-opts", $"driver=raw,file.filename={expected}", image[1]])
                    : ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", expected, outcome.ImagePath);
                Assert.True(compare.ExitCode == 0, $"{config}: qemu-img compare exit {compare.ExitCode}: {compare.StdOut}{compare.StdErr}");
            }, iter: s_iterations, threads: 1, seed: "0000DiskImg02");
    }
}
