using System.Text.Json;
using System.Text.Json.Serialization;

namespace Constellation.Core.Results;

/// <summary>Reads and writes run.json.</summary>
public static class RunRecordJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>
    /// How run.json and the files beside it are read: as written, and a null where the record says a value is
    /// never null is refused (a hand-edited or hostile file cannot make a reader fail later, far from the file).
    /// </summary>
    public static JsonSerializerOptions ReadOptions { get; } = new(Options) { RespectNullableAnnotations = true };

    public static string Serialize(RunRecord record) => JsonSerializer.Serialize(record, Options);

    public static RunRecord Deserialize(string json)
    {
        RunRecord record;
        try
        {
            record = JsonSerializer.Deserialize<RunRecord>(json, ReadOptions) ?? throw new InvalidDataException("run.json is empty");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new InvalidDataException(e.Message, e);
        }

        if (record.SchemaVersion > RunRecord.CurrentSchemaVersion)
        {
            throw new InvalidDataException($"run.json has schemaVersion {record.SchemaVersion}; this version of constellation reads up to {RunRecord.CurrentSchemaVersion}");
        }

        return record;
    }

    public static async Task WriteAsync(RunRecord record, string path, CancellationToken ct = default)
    {
        var tmp = path + ".tmp";
        await using (var stream = File.Create(tmp))
        {
            await JsonSerializer.SerializeAsync(stream, record, Options, ct).ConfigureAwait(false);
        }

        File.Move(tmp, path, overwrite: true);
    }

    public static async Task<RunRecord> ReadAsync(string path, CancellationToken ct = default) =>
        Deserialize(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false));
}
