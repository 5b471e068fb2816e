namespace Constellation.Runs.Local;

/// <summary>
/// Finds another project's build next to this tool's: in this folder, or in the project's own output folder of
/// the same configuration (artifacts/bin/PROJECT/CONFIG_RID/; from a published tool under artifacts/publish, the build's
/// folder beside it), unless an environment variable names the file.
/// </summary>
internal static class SiblingBuild
{
    /// <summary>The file, or an exception built by <paramref name="fail"/> with the places looked at.</summary>
    public static string Find(string project, string dll, string variable, Func<string, Exception> fail, string? baseDirectory = null)
    {
        var configured = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : throw fail($"{variable}={configured} does not exist");
        }

        var baseDir = new DirectoryInfo(baseDirectory ?? AppContext.BaseDirectory);
        var output = baseDir.Parent?.Parent; // artifacts/bin, or artifacts/publish for the published CLI
        var candidates = new[]
        {
            Path.Combine(baseDir.FullName, dll),
            Path.Combine(output?.FullName ?? baseDir.FullName, project, baseDir.Name, dll),
            Path.Combine(output?.Parent?.FullName ?? baseDir.FullName, "bin", project, baseDir.Name, dll),
        }.Distinct().ToArray();
        return candidates.FirstOrDefault(File.Exists)
            ?? throw fail($"{project} is not built (looked in {string.Join(", ", candidates)}); build the solution or set {variable}");
    }
}
