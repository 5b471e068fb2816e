namespace Constellation.Core.Plans;

/// <summary>The outcome of reading a plan: the plan, or every problem found in it.</summary>
public sealed record PlanLoadResult(Plan? Plan, IReadOnlyList<PlanError> Errors)
{
    public bool IsValid => Plan is not null && Errors.Count == 0;
}

/// <summary>
/// Reads a YAML plan (<see cref="PlanYamlReader"/>: its form) and validates it (<see cref="PlanValidator"/>: its
/// meaning), reporting every problem at once, each with its path and line. Never throws for what a file holds.
/// </summary>
public static class PlanLoader
{
    /// <summary>Loads a plan file; its scenarios' data files are read relative to its folder unless <paramref name="withData"/> is false (listing plans).</summary>
    public static PlanLoadResult LoadFile(string path, bool withData = true)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > YamlPreflight.MaxBytes)
            {
                return new PlanLoadResult(null, [new PlanError("(plan)", $"is {info.Length / 1024} KiB, larger than the limit of {YamlPreflight.MaxBytes / 1024} KiB")]);
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new PlanLoadResult(null, [new PlanError(path, $"cannot read the plan: {e.Message}")]);
        }

        return Parse(text, withData ? Path.GetDirectoryName(Path.GetFullPath(path)) : null);
    }

    /// <summary>
    /// Reads and validates a plan; with <paramref name="dataFolder"/>, its scenarios' data files are read from there
    /// (their rows kept in the plan, their columns checked against the placeholders).
    /// </summary>
    public static PlanLoadResult Parse(string yaml, string? dataFolder = null)
    {
        var (plan, read) = PlanYamlReader.Read(yaml);
        if (plan is null)
        {
            return new PlanLoadResult(null, read.All());
        }

        if (dataFolder is not null)
        {
            plan = WithData(plan, (s, i) =>
            {
                var (table, error) = DataFiles.Read(Path.Combine(dataFolder, s.Data!.File), s.Data.Columns, s.Data.SkipFirstLine);
                if (error is not null)
                {
                    read.Add($"scenarios[{i}].data.file", error);
                }

                return table;
            });
        }

        // The validator speaks of paths; the reader knows their lines. A value that could not be read is not
        // judged again.
        foreach (var e in PlanValidator.Validate(plan).Where(e => !read.IsBad(e.Path)).ToList())
        {
            read.Add(e.Path, e.Message);
        }

        var errors = read.All();
        return errors.Count == 0 ? new PlanLoadResult(plan, []) : new PlanLoadResult(null, errors);
    }

    /// <summary>The plan with each scenario's data rows from <paramref name="rows"/> (null: left as they are).</summary>
    public static Plan WithData(Plan plan, Func<ScenarioSpec, int, DataTable?> rows) => plan with
    {
        Scenarios = [.. plan.Scenarios.Select((s, i) => s.Data is null ? s : s with { Data = s.Data with { Rows = rows(s, i) ?? s.Data.Rows } })],
    };

    /// <summary>Validates a plan built in memory (load's flags, a JMeter import, the service's overrides).</summary>
    public static PlanLoadResult Check(Plan plan)
    {
        var errors = PlanValidator.Validate(plan);
        return errors.Count == 0 ? new PlanLoadResult(plan, []) : new PlanLoadResult(null, errors);
    }
}
