using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Constellation.Core.Plans;

/// <summary>
/// Checks a plan's YAML event by event — without building anything, so nothing it holds can blow the stack or the
/// heap — before the document is loaded: the file's size, one document only, nesting depth, mapping keys that are
/// names (not lists or maps), keys given twice, and how many aliases it uses. Every problem has its line and column.
/// </summary>
public static class YamlPreflight
{
    /// <summary>The largest plan read. Default: 1 MiB.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>The deepest nesting of lists and maps. Default: 32 (a plan needs about 8).</summary>
    public const int MaxDepth = 32;

    /// <summary>Most aliases (<c>*name</c>) in a plan. Default: 100.</summary>
    public const int MaxAliases = 100;

    /// <summary>Every problem found; an empty list means the document can be loaded safely.</summary>
    public static IReadOnlyList<PlanError> Check(string yaml)
    {
        if (yaml.Length > MaxBytes)
        {
            return [new PlanError("(plan)", $"is {yaml.Length / 1024} KiB, larger than the limit of {MaxBytes / 1024} KiB")];
        }

        var errors = new List<PlanError>();
        var parser = new Parser(new StringReader(yaml));
        var frames = new Stack<Frame>();
        int documents = 0;
        int aliases = 0;
        Mark at = Mark.Empty;
        try
        {
            while (parser.MoveNext())
            {
                var e = parser.Current!;
                at = e.Start;
                if (frames.TryPeek(out var frame) && frame.IsMapping && frame.ExpectKey && e is not MappingEnd)
                {
                    if (e is Scalar key)
                    {
                        if (!frame.Keys.Add(key.Value))
                        {
                            errors.Add(new PlanError(frame.Path(key.Value), "is given twice in the same mapping; each key once", Line(e.Start), Column(e.Start)));
                        }

                        frame.CurrentKey = key.Value;
                    }
                    else
                    {
                        errors.Add(new PlanError(frame.Path("?"), "a mapping key must be a plain name, not a list, a map or an alias", Line(e.Start), Column(e.Start)));
                        frame.CurrentKey = "?";
                    }
                }

                switch (e)
                {
                    case DocumentStart { IsImplicit: var _ } when ++documents > 1:
                        errors.Add(new PlanError("(plan)", "holds more than one YAML document (a '---' line after the plan); a plan is one document", Line(e.Start), Column(e.Start)));
                        return errors;
                    case MappingStart or SequenceStart:
                        if (frames.Count >= MaxDepth)
                        {
                            errors.Add(new PlanError("(plan)", $"nests lists and maps deeper than {MaxDepth} levels", Line(e.Start), Column(e.Start)));
                            return errors;
                        }

                        var parent = frames.Count == 0 ? null : frames.Peek();
                        var path = parent is null ? string.Empty : parent.ChildPath();
                        Consumed(parent);
                        frames.Push(new Frame(e is MappingStart, path));
                        continue;
                    case MappingEnd or SequenceEnd:
                        frames.Pop();
                        continue;
                    case AnchorAlias when ++aliases > MaxAliases:
                        errors.Add(new PlanError("(plan)", $"uses more than {MaxAliases} aliases (*name)", Line(e.Start), Column(e.Start)));
                        return errors;
                }

                if (e is Scalar or AnchorAlias)
                {
                    Consumed(frames.Count == 0 ? null : frames.Peek());
                }
            }
        }
        catch (YamlException y)
        {
            var where = y.Start.Equals(Mark.Empty) ? at : y.Start;
            errors.Add(new PlanError("(yaml)", Clean(y.InnerException?.Message ?? y.Message), Line(where), Column(where)));
        }
        catch (Exception x) when (x is InvalidOperationException or ArgumentException or InvalidCastException or FormatException)
        {
            // The parser's own state errors (e.g. a flow mapping that never closes) say nothing a user can act on.
            errors.Add(new PlanError("(yaml)", "the YAML ends or breaks before a list or map is closed (a missing ']' or '}', or bad indentation)", Line(at), Column(at)));
        }

        return errors;
    }

    private static void Consumed(Frame? frame)
    {
        if (frame is { IsMapping: true })
        {
            frame.ExpectKey = !frame.ExpectKey;
        }
        else if (frame is not null)
        {
            frame.Index++;
        }
    }

    private static int Line(Mark m) => (int)m.Line;

    private static int Column(Mark m) => (int)m.Column;

    private static string Clean(string message)
    {
        // YamlDotNet prefixes its messages with "(Line: 3, Col: 5, Idx: 42) - (Line: …): ": the line is given separately.
        int dash = message.LastIndexOf("): ", StringComparison.Ordinal);
        return dash >= 0 && message.StartsWith('(') ? message[(dash + 3)..] : message;
    }

    private sealed class Frame(bool isMapping, string path)
    {
        public bool IsMapping { get; } = isMapping;
        public bool ExpectKey { get; set; } = true;
        public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);
        public string? CurrentKey { get; set; }
        public int Index { get; set; }

        public string Path(string key) => path.Length == 0 ? key : $"{path}.{key}";

        public string ChildPath() => IsMapping ? Path(CurrentKey ?? "?") : $"{path}[{Index}]";
    }
}
