namespace Constellation.Core.Results;

/// <summary>What a run id and a tag may be: a run id names a folder inside the runs folder, a tag is one word.</summary>
public static class RunNames
{
    public const int MaxRunIdLength = 120;
    public const int MaxTagLength = 100;

    public const string RunIdRule = "letters, digits, '.', '_' and '-' only (at most 120, not '.' or '..')";
    public const string TagRule = "a word without spaces or control characters (at most 100 characters)";

    /// <summary>Whether a text can be a run id: a folder name that stays inside the runs folder.</summary>
    public static bool IsRunId(string? id) =>
        id is { Length: > 0 and <= MaxRunIdLength } && id is not ("." or "..") && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>Whether a text can be a tag.</summary>
    public static bool IsTag(string? tag) =>
        tag is { Length: > 0 and <= MaxTagLength } && !tag.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));
}
