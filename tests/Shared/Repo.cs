namespace Constellation.Tests;

/// <summary>The repository the tests run from (for infra/, plans/, examples/, README.md).</summary>
internal static class Repo
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Constellation.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("the repository root (Constellation.sln) was not found above " + AppContext.BaseDirectory);
    }
}
