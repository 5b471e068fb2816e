using System.CommandLine;
using System.Globalization;
using Constellation.Core.Plans;
using Constellation.Core.Text;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation validate PLAN</c>: every problem of a plan with its location, or what the plan will do.</summary>
internal static class ValidateCommand
{
    public static Command Create(CliContext ctx)
    {
        var plan = new Argument<FileInfo>("plan") { Description = "The plan YAML to check." };
        var cmd = new Command("validate", "Check a plan and report every problem with its location (exit 2 if any).") { plan };
        cmd.SetAction(pr =>
        {
            var file = pr.GetValue(plan)!;
            if (!file.Exists)
            {
                ctx.Error.WriteLine($"error: plan file '{file.FullName}' does not exist");
                return ExitCodes.InvalidInput;
            }

            var loaded = PlanLoader.LoadFile(file.FullName);
            if (!loaded.IsValid)
            {
                CliSupport.PrintErrors(ctx.Error, file.Name, loaded.Errors);
                return ExitCodes.InvalidInput;
            }

            Describe(ctx.Out, file.Name, loaded.Plan!);
            return CliSupport.SecretsPresent(ctx, file.Name, loaded.Plan!) ? ExitCodes.Ok : ExitCodes.InvalidInput;
        });
        return cmd;
    }

    private static void Describe(TextWriter o, string name, Plan p)
    {
        o.WriteLine($"{name}: ok — plan '{p.Name}', {p.Scenarios.Count} scenario(s), {p.Targets.Count} target(s), runs up to {Durations.Format(p.MaxDuration)}");
        foreach (var s in p.Scenarios)
        {
            var curve = s.Load.Curve;
            var unit = s.Load.Unit;
            var extra = s.Load.Model == LoadModel.Open ? string.Create(CultureInfo.InvariantCulture, $", {curve.TotalArrivals:0} requests planned") : string.Empty;
            extra += s.Load.Iterations is { } iterations ? string.Create(CultureInfo.InvariantCulture, $", {iterations} iterations per user") : string.Empty;
            extra += s.Sequence.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $", a sequence of {s.Sequence.Count} requests ({string.Join(" → ", s.Sequence.Select(r => r.Name ?? r.Path))})") : string.Empty;
            extra += s.Sequence.Count == 1 && s.Request.Expect is { } expect ? ", expects " + DescribeExpect(expect) : string.Empty;
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s.Name}: {s.Load.Model.ToString().ToLowerInvariant()} model on {s.Target}{s.Request.Path}, {Durations.Format(curve.Duration)}, peak {curve.Peak:0.#} {unit}{extra}{(s.StopWhen.Count > 0 ? ", stops when " + string.Join(" or ", s.StopWhen) : string.Empty)}"));
        }

        if (p.Observe is { } observe)
        {
            o.WriteLine($"  observe: {string.Join(", ", DescribeObserve(observe))}");
        }

        if (SecretReferences.Of(p) is { Count: > 0 } secrets)
        {
            o.WriteLine($"  secrets: {string.Join(", ", secrets.Select(r => r.Text).Distinct(StringComparer.Ordinal))} (resolved when the run starts, never recorded)");
        }
    }

    private static IEnumerable<string> DescribeObserve(ObserveSpec o)
    {
        if (o.Baseline > TimeSpan.Zero)
        {
            yield return $"{Durations.Format(o.Baseline)} baseline before the load";
        }

        if (o.Cooldown > TimeSpan.Zero)
        {
            yield return $"{Durations.Format(o.Cooldown)} cooldown after it";
        }

        if (o.Local is { } l)
        {
            yield return $"local processes every {Durations.Format(l.Interval)}";
        }

        foreach (var p in o.Probes)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"probe {p.Target}{p.Path} {p.Rate:0.##}/s");
        }

        if (o.Kubernetes is { } k)
        {
            var where = k.InCluster ? "in-cluster" : $"{k.Kubeconfig ?? "default kubeconfig"}{(k.Context is null ? string.Empty : " context " + k.Context)}";
            yield return $"kubernetes ({where}): {string.Join(", ", k.Workloads.Select(w => $"{w.Namespace}/{w.Deployment}{(w.Hpa is null ? string.Empty : " + HPA " + w.Hpa)}"))}";
        }

        if (o.Prometheus is { } pr)
        {
            yield return $"prometheus {pr.Url} ({pr.Queries.Count} queries)";
        }
    }

    private static string DescribeExpect(ResponseExpectation e) => string.Join(" and ", new[]
    {
        e.Status.Count > 0 ? "status " + string.Join(" or ", e.Status) : null,
        e.BodyContains.Count > 0 ? "body containing " + string.Join(", ", e.BodyContains.Select(t => $"\"{t}\"")) : null,
        e.BodyNotContains.Count > 0 ? "body without " + string.Join(", ", e.BodyNotContains.Select(t => $"\"{t}\"")) : null,
    }.OfType<string>());
}
