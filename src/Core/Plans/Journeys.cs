namespace Constellation.Core.Plans;

/// <summary>
/// A user's cookies (plan key <c>cookies</c>): a jar per virtual user as a browser keeps one (RFC 6265), on for a
/// sequence unless <c>cookies: false</c>; <see cref="ClearEachIteration"/> empties it when a new iteration starts
/// (JMeter's Cookie Manager option of that name), else it is kept for the user's life.
/// </summary>
public sealed record CookieSpec(bool Enabled, bool ClearEachIteration = false);

/// <summary>Where an extractor looks.</summary>
public enum ExtractKind
{
    /// <summary>A JSON path into the body (<c>$.token</c>, <c>$.items[0].id</c>, <c>$['a b']</c>).</summary>
    Json,

    /// <summary>A regular expression over the body, one of its groups (default 1; 0 is the whole match).</summary>
    Regex,

    /// <summary>A response header's value (the first of that name).</summary>
    Header,

    /// <summary>The text between two boundaries in the body (JMeter's Boundary Extractor).</summary>
    Boundary,
}

/// <summary>
/// A value taken from an answer into <c>${vars.NAME}</c> for the later requests of the iteration (plan key
/// <c>extract</c> on a request). No match is a failed check of that answer, named by its extractor — unless a
/// <see cref="Default"/> is given, which is used instead (JMeter's default value).
/// </summary>
public sealed record ExtractSpec
{
    public required string Name { get; init; }
    public required ExtractKind Kind { get; init; }

    /// <summary>The JSON path, the regular expression, the header name, or the left boundary.</summary>
    public required string Expression { get; init; }

    /// <summary>The right boundary (<see cref="ExtractKind.Boundary"/>).</summary>
    public string? Right { get; init; }

    /// <summary>The regular expression's group (default 1; 0 is the whole match).</summary>
    public int Group { get; init; } = 1;

    public string? Default { get; init; }

    /// <summary>How it reads in a plan, for messages: <c>token (json $.token)</c>.</summary>
    public string Describe() => Kind switch
    {
        ExtractKind.Boundary => $"{Name} (between '{Expression}' and '{Right}')",
        _ => $"{Name} ({Kind.ToString().ToLowerInvariant()} {Expression})",
    };
}

/// <summary>When a user takes a new row of the data.</summary>
public enum DataBinding
{
    /// <summary>One row for the user's life (JMeter's CSV Data Set shared per thread once).</summary>
    User,

    /// <summary>A new row every iteration (JMeter's CSV Data Set: each thread iteration reads the next line).</summary>
    Iteration,
}

/// <summary>Which row comes next.</summary>
public enum DataOrder
{
    /// <summary>In file order, shared by every user (JMeter's "all threads" sharing).</summary>
    Sequential,

    /// <summary>Any row, drawn at random each time.</summary>
    Random,

    /// <summary>Each row at most once over the whole run (split among the agents of a distributed run).</summary>
    Unique,
}

/// <summary>
/// A scenario's test data (plan key <c>data</c>): rows of a CSV file with a header or of a JSON-lines file (one flat
/// object per line), used as <c>${data.COLUMN}</c> in paths, headers and bodies. At the end of the rows the data
/// is read again from the start (<see cref="Recycle"/>), or the user stops (JMeter's "stop thread on EOF").
/// </summary>
public sealed record DataSpec
{
    /// <summary>The file, relative to the plan's folder.</summary>
    public required string File { get; init; }

    public DataBinding Bind { get; init; } = DataBinding.Iteration;
    public DataOrder Order { get; init; } = DataOrder.Sequential;
    public bool Recycle { get; init; } = true;

    /// <summary>Column names for a CSV file without a header line (JMeter's variable names); its first line is data unless <see cref="SkipFirstLine"/>.</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];

    /// <summary>Skip the CSV file's first line (a header replaced by <see cref="Columns"/>).</summary>
    public bool SkipFirstLine { get; init; }

    /// <summary>The rows, read when the plan is loaded (null until then, and when the file could not be read).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public DataTable? Rows { get; init; }
}

/// <summary>Data rows by column: what <c>${data.COLUMN}</c> reads.</summary>
public sealed record DataTable(IReadOnlyList<string> Columns, IReadOnlyList<string[]> Rows)
{
    /// <summary>Most rows a data file may hold (they are kept in memory).</summary>
    public const int MaxRows = 1_000_000;

    /// <summary>Most bytes a data file may have.</summary>
    public const long MaxBytes = 256L * 1024 * 1024;
}
