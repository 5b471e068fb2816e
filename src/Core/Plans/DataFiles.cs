using System.Text;
using System.Text.Json;

namespace Constellation.Core.Plans;

/// <summary>Reads a scenario's data file: CSV with a header line (RFC 4180 quoting), or JSON lines (one flat object per line).</summary>
public static class DataFiles
{
    /// <summary>The rows of <paramref name="path"/> (.jsonl/.ndjson as JSON lines, anything else as CSV), or why not.</summary>
    public static (DataTable? Table, string? Error) Read(string path, IReadOnlyList<string>? columns = null, bool skipFirstLine = false)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return (null, $"no such file: {path}");
            }

            if (info.Length > DataTable.MaxBytes)
            {
                return (null, $"{path} is {info.Length / 1024 / 1024} MiB, larger than the limit of {DataTable.MaxBytes / 1024 / 1024} MiB");
            }

            var text = File.ReadAllText(path, Encoding.UTF8);
            var ext = Path.GetExtension(path).ToLowerInvariant();
            return ext is ".jsonl" or ".ndjson" ? JsonLines(text, path) : Csv(text, path, columns, skipFirstLine);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"cannot read {path}: {e.Message}");
        }
    }

    /// <summary>CSV text with a header line: fields separated by commas, "quoted" when they hold a comma, a quote ("") or a line break.</summary>
    public static (DataTable? Table, string? Error) Csv(string text, string name, IReadOnlyList<string>? columns = null, bool skipFirstLine = false)
    {
        if (columns is { Count: > 0 })
        {
            // Named columns: every line is data (but a skipped first one), under the names given.
            var header = string.Join(',', columns.Select(c => c.Contains(',', StringComparison.Ordinal) || c.Contains('"', StringComparison.Ordinal) ? $"\"{c.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : c));
            if (skipFirstLine)
            {
                int nl = text.IndexOf('\n', StringComparison.Ordinal);
                text = nl < 0 ? string.Empty : text[(nl + 1)..];
            }

            return Csv(header + "\n" + text, name);
        }

        var records = new List<string[]>();
        var field = new StringBuilder();
        var record = new List<string>();
        int line = 1, recordLine = 1;
        bool quoted = false, wasQuoted = false;
        int i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        for (; i <= text.Length; i++)
        {
            char ch = i < text.Length ? text[i] : '\n';
            bool end = i == text.Length;
            if (quoted && !end)
            {
                if (ch == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    line += ch == '\n' ? 1 : 0;
                    field.Append(ch);
                }

                continue;
            }

            if (quoted && end)
            {
                return (null, $"{name}: line {recordLine}: a quoted field is not closed");
            }

            switch (ch)
            {
                case '"' when field.Length == 0 && !wasQuoted:
                    quoted = wasQuoted = true;
                    break;
                case '"':
                    return (null, $"{name}: line {line}: a quote inside an unquoted field (quote the whole field and double the quote)");
                case ',':
                    record.Add(field.ToString());
                    field.Clear();
                    wasQuoted = false;
                    break;
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\n' or '\r':
                    record.Add(field.ToString());
                    field.Clear();
                    wasQuoted = false;
                    if (!(record.Count == 1 && record[0].Length == 0))
                    {
                        if (records.Count > DataTable.MaxRows)
                        {
                            return (null, $"{name}: more than {DataTable.MaxRows} rows");
                        }

                        if (records.Count > 0 && record.Count != records[0].Length)
                        {
                            return (null, $"{name}: line {recordLine}: {record.Count} field(s), the header has {records[0].Length}");
                        }

                        records.Add([.. record]);
                    }

                    record.Clear();
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(ch);
                    break;
            }
        }

        return Table(records.Count == 0 ? [] : [.. records[0].Select(c => c.Trim())], records.Skip(1).ToList(), name); // names trimmed, as JMeter trims them
    }

    /// <summary>JSON lines: each non-empty line one object; its keys are the columns (strings as they are, numbers and booleans as written, null empty).</summary>
    public static (DataTable? Table, string? Error) JsonLines(string text, string name)
    {
        var columns = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var rows = new List<Dictionary<int, string>>();
        int n = 0;
        foreach (var raw in text.Split('\n'))
        {
            n++;
            var l = raw.TrimEnd('\r').Trim();
            if (l.Length == 0)
            {
                continue;
            }

            if (rows.Count >= DataTable.MaxRows)
            {
                return (null, $"{name}: more than {DataTable.MaxRows} rows");
            }

            try
            {
                using var doc = JsonDocument.Parse(l, new JsonDocumentOptions { MaxDepth = 16 });
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return (null, $"{name}: line {n}: not a JSON object");
                }

                var row = new Dictionary<int, string>();
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (!index.TryGetValue(p.Name, out var at))
                    {
                        index[p.Name] = at = columns.Count;
                        columns.Add(p.Name);
                    }

                    row[at] = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString()!,
                        JsonValueKind.Null => string.Empty,
                        _ => p.Value.GetRawText(),
                    };
                }

                rows.Add(row);
            }
            catch (JsonException e)
            {
                return (null, $"{name}: line {n}: not JSON: {e.Message}");
            }
        }

        return Table(columns, [.. rows.Select(r => Enumerable.Range(0, columns.Count).Select(c => r.GetValueOrDefault(c, string.Empty)).ToArray())], name);
    }

    private static (DataTable?, string?) Table(IReadOnlyList<string> columns, List<string[]> rows, string name)
    {
        if (columns.Count == 0)
        {
            return (null, $"{name}: no header (the first line names the columns)");
        }

        if (rows.Count == 0)
        {
            return (null, $"{name}: no rows after the header");
        }

        var dup = columns.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return dup is not null ? (null, $"{name}: the column '{dup.Key}' is named twice") : (new DataTable(columns, rows), null);
    }
}
