using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Constellation.Core.Results;

namespace Constellation.Reports.JUnit;

/// <summary>
/// Renders junit.xml for CI test reporters (Jenkins, GitHub Actions, GitLab): one test suite per run, one
/// test case per scenario. A scenario passes when it ran to its end or was stopped by its own ramp-to-fail
/// condition (finding the breaking point is the point of such a scenario); it is an error when the run was
/// cancelled, killed (a record rebuilt from its journal) or failed. Every threshold (the CI gate) is a test case of its own, its failure message giving the
/// observed value; a run the gate found invalid adds a failing "validity" case.
/// </summary>
public static class JUnitReport
{
    public static string Render(RunRecord run)
    {
        var inv = CultureInfo.InvariantCulture;
        var duration = (run.Environment.EndedUtc - run.Environment.StartedUtc).TotalSeconds;
        var cases = new List<XElement>();
        int errors = 0;
        foreach (var s in run.Scenarios)
        {
            var t = s.Totals;
            var l = t.Latency;
            var testCase = new XElement(
                "testcase",
                new XAttribute("classname", $"{run.PlanName}.scenarios"),
                new XAttribute("name", s.Name),
                new XAttribute("time", s.DurationSeconds.ToString("0.###", inv)));
            if (s.EndReason is EndReason.Cancelled or EndReason.Aborted or EndReason.Failed)
            {
                errors++;
                var why = s.EndReason switch
                {
                    EndReason.Cancelled => "the run was cancelled before this scenario ended",
                    EndReason.Aborted => "the run was killed before this scenario ended (rebuilt from its journal)",
                    _ => "the scenario failed",
                };
                testCase.Add(new XElement("error", new XAttribute("message", why), new XAttribute("type", s.EndReason.Name())));
            }

            var text = string.Create(inv, $"requests {t.Requests}, {t.Rps:0.0}/s, errors {t.ErrorRate * 100:0.##}%, dropped {t.Outcomes.Dropped}, p50 {l.P50Ms:0.###} ms, p95 {l.P95Ms:0.###} ms, p99 {l.P99Ms:0.###} ms, max {l.MaxMs:0.###} ms, end {s.EndReason.Name()}");
            if (s.BreakingPoint is { } b)
            {
                text += string.Create(inv, $"\nbreaking point: {b.Condition} (observed {b.Observed}) at {b.OfferedAtFailure:0.#} {b.Unit}; last healthy {b.LastHealthyOffered:0.#} {b.Unit} ({b.LastHealthyStage})");
            }

            testCase.Add(new XElement("system-out", text));
            cases.Add(testCase);

            // Each request of a sequence: its numbers for the CI's test view (a request is judged by its thresholds).
            foreach (var r in s.Requests)
            {
                var rt = r.Totals;
                var rl = rt.Latency;
                cases.Add(new XElement(
                    "testcase",
                    new XAttribute("classname", $"{run.PlanName}.scenarios.{s.Name}"),
                    new XAttribute("name", r.Name),
                    new XAttribute("time", s.DurationSeconds.ToString("0.###", inv)),
                    new XElement("system-out", string.Create(inv, $"requests {rt.Requests}, {rt.Rps:0.0}/s, errors {rt.ErrorRate * 100:0.##}%, mean {rl.MeanMs:0.###} ms, p50 {rl.P50Ms:0.###} ms, p90 {rl.P90Ms:0.###} ms, p95 {rl.P95Ms:0.###} ms, p99 {rl.P99Ms:0.###} ms, max {rl.MaxMs:0.###} ms"))));
            }
        }

        int failures = 0, skipped = 0;
        if (run.Gate is { } gate)
        {
            foreach (var t in gate.Thresholds)
            {
                var testCase = new XElement(
                    "testcase",
                    new XAttribute("classname", $"{run.PlanName}.thresholds.{t.Scope}"),
                    new XAttribute("name", t.Threshold),
                    new XAttribute("time", "0"));
                var detail = t.Detail is null ? string.Empty : $" ({t.Detail})";
                if (t.Skipped)
                {
                    skipped++;
                    testCase.Add(new XElement("skipped", new XAttribute("message", $"not judged: {t.Detail}")));
                }
                else if (!t.Passed)
                {
                    failures++;
                    testCase.Add(new XElement("failure", new XAttribute("message", $"{t.Threshold}: observed {t.Observed}{detail}"), new XAttribute("type", "threshold")));
                }
                else
                {
                    testCase.Add(new XElement("system-out", $"observed {t.Observed}{detail}"));
                }

                cases.Add(testCase);
            }

            if (gate.InvalidReasons.Count > 0)
            {
                failures++;
                cases.Add(new XElement(
                    "testcase",
                    new XAttribute("classname", $"{run.PlanName}.gate"),
                    new XAttribute("name", "validity"),
                    new XAttribute("time", "0"),
                    new XElement("failure", new XAttribute("message", "the run is invalid: " + string.Join("; ", gate.InvalidReasons)), new XAttribute("type", "invalid"))));
            }

            if (gate.AbortedBy is { } why)
            {
                cases.Add(new XElement(
                    "testcase",
                    new XAttribute("classname", $"{run.PlanName}.gate"),
                    new XAttribute("name", "abortOnFail"),
                    new XAttribute("time", "0"),
                    new XElement("system-out", $"the run was stopped early: {why}")));
            }
        }

        if (run.Status is RunStatus.Failed or RunStatus.Aborted)
        {
            // A failed run, or one killed before it could end (a record rebuilt from its journal), is never green.
            errors++;
            cases.Add(new XElement(
                "testcase",
                new XAttribute("classname", $"{run.PlanName}.run"),
                new XAttribute("name", "run"),
                new XAttribute("time", duration.ToString("0.###", inv)),
                new XElement("error", new XAttribute("message", run.Error ?? (run.Status == RunStatus.Aborted ? "the run was killed before it ended" : "the run failed")), new XAttribute("type", run.Status.ToString().ToLowerInvariant()))));
        }

        var suite = new XElement(
            "testsuite",
            new XAttribute("name", run.PlanName),
            new XAttribute("tests", cases.Count),
            new XAttribute("failures", failures),
            new XAttribute("errors", errors),
            new XAttribute("skipped", skipped),
            new XAttribute("time", duration.ToString("0.###", inv)),
            new XAttribute("timestamp", run.Environment.StartedUtc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", inv)),
            new XElement("properties", new XElement("property", new XAttribute("name", "runId"), new XAttribute("value", run.RunId))),
            cases);
        var doc = new XDocument(new XDeclaration("1.0", "utf-8", null), new XElement(
            "testsuites",
            new XAttribute("name", "constellation"),
            new XAttribute("tests", cases.Count),
            new XAttribute("failures", failures),
            new XAttribute("errors", errors),
            new XAttribute("time", duration.ToString("0.###", inv)),
            suite));
        using var writer = new Utf8StringWriter();
        using (var xml = XmlWriter.Create(writer, new XmlWriterSettings { Indent = true, NewLineChars = "\n" }))
        {
            doc.Save(xml);
        }

        return writer.ToString() + "\n";
    }

    private sealed class Utf8StringWriter : StringWriter
    {
        public Utf8StringWriter()
            : base(CultureInfo.InvariantCulture)
        {
        }

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
    }
}
