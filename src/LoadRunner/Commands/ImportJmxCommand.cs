using System.CommandLine;
using Constellation.Runs.Jmx;
using Constellation.Core.Load;
using Constellation.Core.Text;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation import-jmx PLAN.jmx</c>: a JMeter test plan as a Constellation plan.</summary>
internal static class ImportJmxCommand
{
    /// <summary>JMeter writes properties as -Jname=value; System.CommandLine wants -J name=value.</summary>
    public static string[] SplitJmeterProperties(string[] args) =>
        args.Length > 0 && args[0] == "import-jmx"
            ? [.. args.SelectMany(a => a.Length > 2 && a.StartsWith("-J", StringComparison.Ordinal) ? new[] { "-J", a[2..] } : [a])]
            : args;

    public static Command Create(CliContext ctx)
    {
        var jmx = new Argument<FileInfo>("jmx") { Description = "The JMeter test plan (.jmx)." };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the plan YAML; default: standard output." };
        var props = CliOptions.Validated(
            new Option<string[]>("-J", "--property") { Description = "A JMeter property for ${__P(name,default)}, as name=value (also -Jname=value, as with jmeter). Repeatable.", AllowMultipleArgumentsPerToken = false },
            (values, add) =>
            {
                foreach (var p in (values ?? []).Where(p => p.IndexOf('=', StringComparison.Ordinal) <= 0))
                {
                    add($"-J takes name=value, got '{p}'");
                }
            });
        var propertyFiles = new Option<FileInfo[]>("-q", "--addprop") { Description = "A JMeter property file (name=value lines, as jmeter -q); -J wins over it. Repeatable." };
        var allowPartial = new Option<bool>("--allow-partial") { Description = "Write the plan even though some elements could not be converted (they are listed, and kept as comments in the plan)." };
        var maxDuration = CliOptions.Duration("--max-duration", "Time bound for a thread group that ends by its loop count or loops forever in JMeter.", TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(1), Core.Plans.PlanValidator.MaxDuration);
        var stopWhen = new Option<StopCondition[]>("--stop-when")
        {
            Description = "Add a ramp-to-fail stop condition to every scenario, e.g. \"p95 > 1s over 5s\" or \"error_rate > 5% over 5s\". Repeatable.",
            CustomParser = r =>
            {
                var conditions = new List<StopCondition>();
                foreach (var text in r.Tokens.Select(t => t.Value))
                {
                    if (StopCondition.TryParse(text, out var condition, out var error))
                    {
                        conditions.Add(condition!);
                    }
                    else
                    {
                        r.AddError($"--stop-when '{text}': {error}");
                    }
                }

                return [.. conditions];
            },
        };
        var force = new Option<bool>("--force") { Description = "Overwrite the output file if it exists." };
        var cmd = new Command("import-jmx", """
            Convert a JMeter test plan (.jmx) to a Constellation plan: thread groups (standard, jp@gc Stepping and
            Ultimate, bzm Concurrency, Arrivals and Free-Form Arrivals) with the same thread counts, ramp times and
            arrival rates, HTTP samplers (a thread group's samplers as a sequence) with Header Managers and
            HTTP Request Defaults, Constant/Uniform Random timers as think time, a Constant Throughput Timer as an
            arrival rate, user-defined variables and ${__P(name,default)} properties, Response Assertions (code,
            text) as expect checks. Listeners are noted as replaced. Elements that do not map are listed with their
            path and the command exits 4 without writing, unless --allow-partial.
            """) { jmx, output, props, propertyFiles, allowPartial, maxDuration, stopWhen, force };
        cmd.SetAction(async (pr, ct) =>
        {
            var file = pr.GetValue(jmx)!;
            var properties = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var f in pr.GetValue(propertyFiles) ?? [])
            {
                try
                {
                    foreach (var (k, v) in JavaProperties.Parse(await File.ReadAllTextAsync(f.FullName, ct).ConfigureAwait(false)))
                    {
                        properties[k] = v;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    ctx.Error.WriteLine($"error: cannot read the property file {f.FullName}: {e.Message}");
                    return ExitCodes.InvalidInput;
                }
            }

            foreach (var p in pr.GetValue(props) ?? [])
            {
                int eq = p.IndexOf('=', StringComparison.Ordinal);
                properties[p[..eq]] = p[(eq + 1)..];
            }

            string text;
            try
            {
                text = await File.ReadAllTextAsync(file.FullName, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                ctx.Error.WriteLine($"error: cannot read {file.FullName}: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            JmxImportResult result;
            try
            {
                result = JmxImporter.Import(text, new JmxImportOptions { Properties = properties, MaxDuration = pr.GetValue(maxDuration).Value, StopWhen = pr.GetValue(stopWhen) ?? [], SourceName = file.Name, BaseDirectory = file.DirectoryName });
            }
            catch (JmxFormatException e)
            {
                ctx.Error.WriteLine($"error: {file.Name}: {e.Message}");
                return ExitCodes.InvalidInput;
            }

            foreach (var n in result.Notes)
            {
                ctx.Error.WriteLine($"note: {n}");
            }

            foreach (var u in result.Unmapped)
            {
                ctx.Error.WriteLine($"not converted: {u}");
            }

            if (!result.Complete && !pr.GetValue(allowPartial))
            {
                ctx.Error.WriteLine($"error: {result.Unmapped.Count} element(s) of {file.Name} could not be converted (listed above); nothing was written. Re-run with --allow-partial to write the plan without them.");
                return ExitCodes.ImportIncomplete;
            }

            if (!result.Validation.IsValid)
            {
                ctx.Error.WriteLine("error: the converted plan is not valid:");
                foreach (var e in result.Validation.Errors)
                {
                    ctx.Error.WriteLine($"  {e}");
                }

                return ExitCodes.InvalidInput;
            }

            var target = pr.GetValue(output);
            if (target is null or "-")
            {
                ctx.Out.Write(result.Yaml);
                return ExitCodes.Ok;
            }

            if (File.Exists(target) && !pr.GetValue(force))
            {
                ctx.Error.WriteLine($"error: {target} exists; use --force to overwrite it");
                return ExitCodes.InvalidInput;
            }

            if (Path.GetDirectoryName(Path.GetFullPath(target)) is { } dir)
            {
                Directory.CreateDirectory(dir);
            }

            await File.WriteAllTextAsync(target, result.Yaml, ct).ConfigureAwait(false);
            var plan = result.Validation.Plan!;
            ctx.Out.WriteLine($"wrote {target}: {plan.Scenarios.Count} scenario(s), {plan.Targets.Count} target(s), up to {Durations.Format(plan.MaxDuration)}{(result.Complete ? string.Empty : $"; {result.Unmapped.Count} element(s) not converted")}");
            foreach (var s in plan.Scenarios)
            {
                ctx.Out.WriteLine($"  {s.Name}: {s.Load.Model.ToString().ToLowerInvariant()}, peak {s.Load.Curve.Peak:0.##} {s.Load.Unit}, {Durations.Format(s.Load.Duration)}, {s.Request.Method} {plan.Targets[s.Target].BaseUrl}{s.Request.Path.TrimStart('/')}{(s.Sequence.Count > 1 ? $" then {s.Sequence.Count - 1} more request(s)" : string.Empty)}");
            }

            ctx.Out.WriteLine($"next: constellation validate {target} && constellation run {target}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
