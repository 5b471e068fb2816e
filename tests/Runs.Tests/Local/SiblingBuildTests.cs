using Constellation.Runs.Local;

namespace Constellation.Runs.Tests.Local;

/// <summary>
/// The launcher finds SpinService beside the CLI: in the CLI's own folder, in the build output of the same
/// configuration, and — for the published CLI that ./constellation runs — in the build output beside artifacts/publish.
/// </summary>
public sealed class SiblingBuildTests : IDisposable
{
    private readonly string _artifacts = Directory.CreateTempSubdirectory("constellation-sibling-").FullName;

    public void Dispose() => Directory.Delete(_artifacts, recursive: true);

    [Theory]
    [InlineData("bin")]
    [InlineData("publish")]
    public void FromTheCli_ItFindsTheBuiltSpinService(string cliOutput)
    {
        var cli = Directory.CreateDirectory(Path.Combine(_artifacts, cliOutput, "Constellation.LoadRunner", "release_linux-x64")).FullName;
        var spin = Path.Combine(Directory.CreateDirectory(Path.Combine(_artifacts, "bin", "Constellation.SpinService", "release_linux-x64")).FullName, "Spin.dll");
        File.WriteAllText(spin, "");

        SiblingBuild.Find("Constellation.SpinService", "Spin.dll", "CONSTELLATION_TEST_UNSET", m => new InvalidOperationException(m), cli).ShouldBe(spin);
    }

    [Fact]
    public void NotBuilt_TheErrorNamesEveryPlaceLookedAt()
    {
        var cli = Directory.CreateDirectory(Path.Combine(_artifacts, "publish", "Constellation.LoadRunner", "debug_linux-x64")).FullName;

        var error = Should.Throw<InvalidOperationException>(() => SiblingBuild.Find("Constellation.SpinService", "Spin.dll", "CONSTELLATION_TEST_UNSET", m => new InvalidOperationException(m), cli));

        error.Message.ShouldContain(Path.Combine(_artifacts, "bin", "Constellation.SpinService", "debug_linux-x64", "Spin.dll"));
        error.Message.ShouldContain(Path.Combine(_artifacts, "publish", "Constellation.SpinService", "debug_linux-x64", "Spin.dll"));
    }
}
