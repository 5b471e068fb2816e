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

    public static string Serialize(RunRecord record) => JsonSerializer.Serialize(record, Options);

    public static RunRecord Deserialize(string json)
    {
        var record = JsonSerializer.Deserialize<RunRecord>(json, Options) ?? throw new InvalidDataException("run.json is empty");
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
