using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Constellation.Core.Plans;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;
using Constellation.Runs.Engine;

namespace Constellation.LoadRunner.Commands;

/// <summary>
/// <c>constellation load URL</c>: ad-hoc load on one URL, like wrk or hey. The flags build a one-scenario
/// <see cref="Plan"/> in memory, judged by the same validator as a plan file.
/// </summary>
internal static class LoadCommand
{
    public static Command Create(CliContext ctx)
    {
        var url = new Argument<Uri?>("url")
        {
            Description = "The URL to load, e.g. http://127.0.0.1:8080/.",
            CustomParser = r =>
            {
                var text = r.Tokens.Count == 0 ? string.Empty : r.Tokens[0].Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps))
                {
                    return u;
                }

                r.AddError($"url must be an absolute http:// or https:// URL, got '{text}'");
                return null;
            },
        };
        var rate = CliOptions.Number("--rate", "Open model: requests per second, started on schedule whatever the server does.", 0.001, PlanValidator.MaxRate, "-r");
        var connections = CliOptions.Integer("--connections", "Closed model: this many connections, each sending its next request when the last one is answered.", 1, PlanValidator.MaxUsers, "-c");
        var duration = CliOptions.Duration("--duration", "How long, e.g. 30s or 2m (a bare number is seconds).", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1), PlanValidator.MaxDuration, bareSeconds: true, "-d");
        var timeout = CliOptions.Duration("--timeout", "Per-request timeout.", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1), PlanValidator.MaxRequestTimeout);
        var method = new Option<string>("--method", "-m") { Description = "HTTP method.", DefaultValueFactory = _ => "GET" };
        var headers = CliOptions.Validated(
            new Option<string[]>("--header", "-H") { Description = "A request header, 'Name: value'; repeatable.", AllowMultipleArgumentsPerToken = false },
            (values, add) =>
            {
                foreach (var h in (values ?? []).Where(h => h.IndexOf(':', StringComparison.Ordinal) <= 0))
                {
                    add($"--header must look like 'Name: value', got '{h}'");
                }
            });
        var body = new Option<string?>("--body") { Description = "Request body." };
        var maxInFlight = CliOptions.Integer("--max-in-flight", "Open model: arrivals beyond this many in-flight requests are dropped.", 1, 1_000_000, 1000);
        var json = new Option<bool>("--json") { Description = "End with one JSON line: rps, requests, errors, dropped, p50_ms, p90_ms, p95_ms, p99_ms, p999_ms, max_ms, mean_ms, and pacer_lag_p99_ms (open model: the p99 of how late every arrival after the first second was sent)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output." };
        var metricsPort = CliSupport.MetricsPortOption();
        var cmd = new Command("load", "Ad-hoc load on one URL, like wrk or hey; prints a summary.") { url, rate, connections, duration, timeout, method, headers, body, maxInFlight, json, quiet, metricsPort };
        CliOptions.CrossCheck(cmd, duration, (r, add) =>
        {
            if (r.GetResult(rate) is null == r.GetResult(connections) is null)
            {
                add("give exactly one of --rate (open model) or --connections (closed model)");
            }
        });
        cmd.SetAction(async (pr, _) =>
        {
            var target = pr.GetValue(url)!;
            var headerMap = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var h in pr.GetValue(headers) ?? [])
            {
                int colon = h.IndexOf(':', StringComparison.Ordinal);
                headerMap[h[..colon].Trim()] = h[(colon + 1)..].Trim();
            }

            var plan = AdHocPlan(
                target,
                new RequestSpec { Method = pr.GetValue(method)!, Path = target.PathAndQuery, Timeout = pr.GetValue(timeout).Value, Headers = headerMap, Body = pr.GetValue(body) },
                Load(pr.GetValue(rate), pr.GetValue(connections), pr.GetValue(duration).Value, pr.GetValue(maxInFlight)));
            var checkedPlan = PlanLoader.Check(plan);
            if (!checkedPlan.IsValid)
            {
                foreach (var e in checkedPlan.Errors)
                {
                    ctx.Error.WriteLine($"error: {OptionFor(e.Path)}: {e.Message}");
                }

                ctx.Error.WriteLine("see: constellation load --help");
                return ExitCodes.InvalidInput;
            }

            var view = pr.GetValue(quiet) ? null : new ProgressView(ctx.Error, ctx.Interactive);
            EngineResult result;
            try
            {
                using var metrics = CliSupport.StartMetrics(ctx, pr.GetValue(metricsPort));
                var scenario = new ResolvedScenario(plan.Scenarios[0], target);
                result = await new LoadEngine(ctx.Time).RunAsync([scenario], CliSupport.Progress(view, metrics), ctx.Cancel, ctx.Abort).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or InvalidOperationException)
            {
                ctx.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.RuntimeError;
            }

            view?.Finish();
            var s = result.Scenarios[0];
            WriteSummary(ctx.Out, s, result.Generator);
            if (pr.GetValue(json))
            {
                ctx.Out.WriteLine(LoadJson(s, result.Generator));
            }

            return result.Cancelled ? ExitCodes.Interrupted : ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>The ad-hoc command as a one-scenario plan, validated and run exactly like a file.</summary>
    private static Plan AdHocPlan(Uri target, RequestSpec request, LoadSpec load)
    {
        var plan = new Plan
        {
            Name = "ad-hoc",
            Targets = new Dictionary<string, TargetSpec> { ["target"] = new() { Name = "target", BaseUrl = new Uri(target.GetLeftPart(UriPartial.Authority) + "/") } },
            Scenarios = [new ScenarioSpec { Name = "load", Target = "target", Request = request, Load = load }],
        };
        return plan with { SourceText = PlanYamlWriter.Write(plan, ["constellation load"]) };
    }

    private static LoadSpec Load(double? rate, int? connections, TimeSpan duration, int maxInFlight)
    {
        var (model, value) = rate is { } r ? (LoadModel.Open, r) : (LoadModel.Closed, (double)connections!.Value);
        return new LoadSpec
        {
            Model = model,
            Segments = [new LoadSegment(duration, value, value)],
            Shape = new ConstantShape(value, duration),
            MaxInFlight = maxInFlight,
        };
    }

    /// <summary>Names the option behind a path of the ad-hoc plan, so its errors speak of what the user typed.</summary>
    private static string OptionFor(string planPath)
    {
        var key = planPath.StartsWith("scenarios[0].", StringComparison.Ordinal) ? planPath["scenarios[0].".Length..] : planPath;
        return key switch
        {
            "request.timeout" => "--timeout",
            "request.method" => "--method",
            "request.path" => "url",
            "request.body" => "--body",
            "load.rate" => "--rate",
            "load.users" => "--connections",
            "load.maxInFlight" => "--max-in-flight",
            "load.duration" or "load" => "--duration",
            _ when key.StartsWith("request.headers", StringComparison.Ordinal) => "--header",
            _ when key.StartsWith("targets", StringComparison.Ordinal) => "url",
            _ => planPath,
        };
    }

    private static void WriteSummary(TextWriter o, ScenarioResult s, GeneratorHealth g)
    {
        var t = s.Totals;
        var l = t.Latency;
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"{s.Url} — {s.Model} model, {s.DurationSeconds:0.##}s"));
        o.WriteLine(string.Create(inv, $"  requests  {t.Requests} ({t.Rps:0.#}/s), errors {t.Outcomes.Errors} ({t.ErrorRate * 100:0.##}%), dropped {t.Outcomes.Dropped}"));
        o.WriteLine(string.Create(inv, $"  outcomes  2xx {t.Outcomes.Status2xx}, 3xx {t.Outcomes.Status3xx}, 4xx {t.Outcomes.Status4xx}, 5xx {t.Outcomes.Status5xx}, timeout {t.Outcomes.Timeout}, connection error {t.Outcomes.ConnectionError}, check failed {t.Outcomes.CheckFailed}{(t.Outcomes.Cancelled > 0 ? $", cancelled {t.Outcomes.Cancelled}" : string.Empty)}"));
        o.WriteLine(string.Create(inv, $"  latency   mean {l.MeanMs:0.###} ms, p50 {l.P50Ms:0.###}, p90 {l.P90Ms:0.###}, p95 {l.P95Ms:0.###}, p99 {l.P99Ms:0.###}, p99.9 {l.P999Ms:0.###}, max {l.MaxMs:0.###} ms"));
        if (s.Model == "open")
        {
            var st = t.ServiceTime;
            o.WriteLine(string.Create(inv, $"  service   p50 {st.P50Ms:0.###}, p99 {st.P99Ms:0.###}, max {st.MaxMs:0.###} ms (from actual send; latency above counts from the intended start)"));
        }

        o.WriteLine(string.Create(inv, $"  received  {t.BytesReceived / 1024.0 / 1024.0:0.##} MiB; generator max CPU {g.MaxCpuPercent:0}%, {g.DescribePacerLag()}{(g.Bottleneck ? " — GENERATOR WAS A BOTTLENECK" : string.Empty)}"));
    }

    /// <summary>The machine-readable line (also the contract of shared/bench/peers.sh).</summary>
    public static string LoadJson(ScenarioResult s, GeneratorHealth g)
    {
        var t = s.Totals;
        var l = t.Latency;
        var fields = new Dictionary<string, object>
        {
            ["rps"] = t.Rps,
            ["requests"] = t.Requests,
            ["errors"] = t.Outcomes.Errors,
            ["dropped"] = t.Outcomes.Dropped,
            ["p50_ms"] = l.P50Ms,
            ["p90_ms"] = l.P90Ms,
            ["p95_ms"] = l.P95Ms,
            ["p99_ms"] = l.P99Ms,
            ["p999_ms"] = l.P999Ms,
            ["max_ms"] = l.MaxMs,
            ["mean_ms"] = l.MeanMs,
        };
        if (g.PacerLagP99Ms is { } lag)
        {
            fields["pacer_lag_p99_ms"] = lag;
        }

        return JsonSerializer.Serialize(fields);
    }
}
