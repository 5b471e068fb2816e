using Constellation.Core.Plans;

namespace Constellation.Core.Tests.Plans;

public sealed class ObservePlanTests
{
    private const string Head = """
        name: observed
        targets:
          spin: { baseUrl: "http://127.0.0.1:8080" }
          webapp: { baseUrl: "http://127.0.0.1:8081" }
        scenarios:
          - name: ramp
            target: spin
            load: { model: open, rate: 5, duration: 10s }

        """;

    [Fact]
    public void Parse_EverySampler_ReadsTheirSettings()
    {
        var result = PlanLoader.Parse(Head + """
            observe:
              baseline: 30s
              cooldown: 6m
              local: { interval: 500ms }
              probes:
                - { target: webapp, path: /health, rate: 4, timeout: 2s }
              kubernetes:
                kubeconfig: ~/.kube/demo
                context: demo
                workloads:
                  - { namespace: demo, deployment: spin, hpa: spin }
                  - { namespace: demo, deployment: webapp, selector: "app=webapp" }
                nodeSelector: "role=workers"
                metricsInterval: 30s
              prometheus:
                url: http://127.0.0.1:9090/
                step: 10s
                queries:
                  - { name: spin cpu, query: "sum(rate(process_cpu_seconds_total[1m]))", unit: cores }
            """);

        result.Errors.ShouldBeEmpty();
        var o = result.Plan!.Observe!;
        o.Baseline.ShouldBe(TimeSpan.FromSeconds(30));
        o.Cooldown.ShouldBe(TimeSpan.FromMinutes(6));
        o.Local!.Interval.ShouldBe(TimeSpan.FromMilliseconds(500));
        o.Probes.Single().ShouldBe(new ProbeSpec { Target = "webapp", Path = "/health", Rate = 4, Timeout = TimeSpan.FromSeconds(2) });
        var k = o.Kubernetes!;
        k.Kubeconfig.ShouldBe("~/.kube/demo");
        k.Context.ShouldBe("demo");
        k.Workloads.Count.ShouldBe(2);
        k.Workloads[0].Hpa.ShouldBe("spin");
        k.Workloads[1].Selector.ShouldBe("app=webapp");
        k.NodeSelector.ShouldBe("role=workers");
        k.MetricsInterval.ShouldBe(TimeSpan.FromSeconds(30));
        var p = o.Prometheus!;
        p.Url.ShouldBe(new Uri("http://127.0.0.1:9090/"));
        p.Step.ShouldBe(TimeSpan.FromSeconds(10));
        p.Queries.Single().ShouldBe(new PromQuerySpec("spin cpu", "sum(rate(process_cpu_seconds_total[1m]))", "cores"));
    }

    [Fact]
    public void Parse_Defaults_AreSensible()
    {
        var result = PlanLoader.Parse(Head + """
            observe:
              local: true
              probes: [{ target: webapp }]
              kubernetes: { workloads: [{ deployment: spin }] }
            """);

        result.Errors.ShouldBeEmpty();
        var o = result.Plan!.Observe!;
        o.Baseline.ShouldBe(TimeSpan.Zero);
        o.Local!.Interval.ShouldBe(TimeSpan.FromSeconds(1));
        o.Probes[0].Rate.ShouldBe(2);
        o.Probes[0].Path.ShouldBe("/");
        o.Kubernetes!.Workloads[0].Namespace.ShouldBe("default");
        o.Kubernetes.MetricsInterval.ShouldBe(TimeSpan.FromSeconds(15));
        o.Kubernetes.InCluster.ShouldBeFalse();
    }

    [Fact]
    public void Parse_Mistakes_AreAllReportedWithPathAndLine()
    {
        var result = PlanLoader.Parse(Head + """
            observe:
              baseline: -5s
              probes:
                - { target: nowhere, rate: 500 }
              kubernetes:
                inCluster: true
                context: demo
                workloads:
                  - { namespace: Demo, deployment: spin }
                  - { namespace: Demo, deployment: spin }
                metricsInterval: 200ms
              prometheus:
                url: ftp://x
                queries: []
              extra: 1
            """);

        result.Plan.ShouldBeNull();
        var messages = result.Errors.Select(e => e.ToString()).ToList();
        messages.ShouldContain(m => m.StartsWith("observe.baseline: must be >= 0") && m.EndsWith("(line 10)"));
        messages.ShouldContain(m => m.StartsWith("observe.probes[0].target: unknown target 'nowhere'") && m.EndsWith("(line 12)"));
        messages.ShouldContain(m => m.StartsWith("observe.probes[0].rate: must be > 0 and at most 50/s"));
        messages.ShouldContain(m => m.StartsWith("observe.kubernetes.inCluster: takes no kubeconfig or context"));
        messages.ShouldContain(m => m.StartsWith("observe.kubernetes.workloads[0].namespace: must be a Kubernetes name"));
        messages.ShouldContain(m => m.StartsWith("observe.kubernetes.workloads[1].deployment: Demo/spin is listed twice"));
        messages.ShouldContain(m => m.StartsWith("observe.kubernetes.metricsInterval: must be 0 (off) or at least 1s"));
        messages.ShouldContain(m => m.StartsWith("observe.prometheus.url: must be an absolute http://"));
        messages.ShouldContain(m => m.StartsWith("observe.prometheus.queries: must list at least one query"));
        messages.ShouldContain(m => m.StartsWith("observe.extra: unknown key"));
    }

    [Fact]
    public void ShippedPlans_AreValid()
    {
        var plans = Path.Combine(Constellation.Tests.Repo.Root, "plans");
        foreach (var file in Directory.GetFiles(plans, "*.yaml"))
        {
            var result = PlanLoader.LoadFile(file);
            result.Errors.ShouldBeEmpty($"{Path.GetFileName(file)}: {string.Join("; ", result.Errors)}");
        }

        PlanLoader.LoadFile(Path.Combine(plans, "local.yaml")).Plan!.Observe!.Probes.ShouldContain(p => p.Target == "webapp");
        var eks = PlanLoader.LoadFile(Path.Combine(plans, "eks-nightly.yaml")).Plan!;
        eks.Observe!.Kubernetes!.Workloads.ShouldContain(w => w.Deployment == "spin" && w.Hpa == "spin");
    }

    [Fact]
    public void Deployment_NamesTheWatchedDeploymentAScenarioLoads_AndReactionThresholdsNeedOne()
    {
        const string Plan = """
            name: reacting
            targets:
              front: { baseUrl: "http://127.0.0.1:8080" }
            scenarios:
              - name: ramp
                target: front
                deployment: spin
                load: { model: open, steps: { from: 1, step: 1, every: 60s, to: 3 } }
                thresholds: ["p(95) < 2s"]
            thresholds:
              - "scale.spin.reaction.p95 < 90s"
              - "scale.spin.recovered.max < 3m"
            observe:
              kubernetes:
                workloads:
                  - { namespace: demo, deployment: spin, hpa: spin }
                  - { namespace: demo, deployment: webapp }
            """;
        var ok = PlanLoader.Parse(Plan);
        ok.Errors.ShouldBeEmpty();
        ok.Plan!.Scenarios[0].Deployment.ShouldBe("spin");
        PlanYamlWriter.Write(ok.Plan).ShouldContain("deployment: spin");

        // Not watched: said where.
        var unwatched = PlanLoader.Parse(Plan.Replace("deployment: spin\n", "deployment: spinn\n", StringComparison.Ordinal));
        unwatched.Errors.Select(e => e.ToString()).ShouldContain(e => e.Contains("scenarios[0].deployment") && e.Contains("'spinn' is not a deployment the observer watches (observe.kubernetes.workloads: spin, webapp)"));

        // A reaction gate on a watched deployment no scenario loads: nothing would ever be measured.
        var unloaded = PlanLoader.Parse(Plan.Replace("scale.spin.reaction.p95", "scale.webapp.reaction.p95", StringComparison.Ordinal));
        unloaded.Errors.Select(e => e.ToString()).ShouldContain(e => e.Contains("no scenario's load lands on 'webapp'"));

        // Phases the plan could never measure are refused before the run, not failed after it.
        var noLimit = PlanLoader.Parse(Plan.Replace("thresholds: [\"p(95) < 2s\"]", "thresholds: [\"p(99) < 2s\"]", StringComparison.Ordinal));
        noLimit.Errors.Select(e => e.ToString()).ShouldContain(e => e.Contains("recovery is judged against a p95 limit"));
        var noHpa = PlanLoader.Parse(Plan.Replace("{ namespace: demo, deployment: spin, hpa: spin }", "{ namespace: demo, deployment: spin }", StringComparison.Ordinal).Replace("scale.spin.reaction.p95", "scale.spin.metric_above.p95", StringComparison.Ordinal));
        noHpa.Errors.Select(e => e.ToString()).ShouldContain(e => e.Contains("the HPA metric needs the deployment's HPA watched"));
        var noProbe = PlanLoader.Parse(Plan.Replace("scale.spin.reaction.p95", "scale.spin.control_recovered.p95", StringComparison.Ordinal));
        noProbe.Errors.Select(e => e.ToString()).ShouldContain(e => e.Contains("needs a probe (observe.probes) and a calm baseline"));

        // A deployment named with dots (a valid Kubernetes name) is one deployment in a threshold's name.
        var dotted = PlanLoader.Parse(Plan.Replace("deployment: spin", "deployment: api.v2", StringComparison.Ordinal).Replace("scale.spin.", "scale.api.v2.", StringComparison.Ordinal));
        dotted.Errors.ShouldBeEmpty();
    }
}

public sealed class PlanRedactorTests
{
    [Fact]
    public void Redact_MasksCredentialHeaders_InBlockAndFlowStyle_AndKeepsEverythingElse()
    {
        var yaml = """
            name: secret # a comment stays
            targets: { api: { baseUrl: "http://127.0.0.1:9" } }
            scenarios:
              - name: a
                target: api
                request:
                  headers:
                    Authorization: Bearer abc.def.ghi
                    Accept: text/plain
                    X-Api-Key: 'k-123'
                load: { model: open, rate: 1, duration: 1s }
              - name: b
                target: api
                request: { headers: { Cookie: "session=xyz", X-Trace: on } }
                load: { model: open, rate: 1, duration: 1s }
            """;

        var redacted = PlanRedactor.Redact(yaml);

        redacted.ShouldNotContain("abc.def.ghi");
        redacted.ShouldNotContain("k-123");
        redacted.ShouldNotContain("session=xyz");
        redacted.ShouldContain("Accept: text/plain");
        redacted.ShouldContain("X-Trace: on");
        redacted.ShouldContain("# a comment stays");
        var plan = PlanLoader.Parse(redacted).Plan!;
        plan.Scenarios[0].Request.Headers["Authorization"].ShouldBe(PlanRedactor.Mask);
        plan.Scenarios[1].Request.Headers["Cookie"].ShouldBe(PlanRedactor.Mask);
    }

    [Fact]
    public void Redact_MasksCredentialsInABaseUrl_AndRedactUrlDoesTheSameForRecordedUrls()
    {
        var yaml = """
            name: userinfo
            targets: { api: { baseUrl: "https://load:s3cret@api.example.test:8443/v1" } }
            scenarios:
              - { name: a, target: api, load: { model: open, rate: 1, duration: 1s } }
            """;

        var redacted = PlanRedactor.Redact(yaml);

        redacted.ShouldNotContain("s3cret");
        PlanLoader.Parse(redacted).Plan!.Targets["api"].BaseUrl!.Host.ShouldBe("api.example.test");
        PlanRedactor.RedactUrl(new Uri("https://load:s3cret@api.example.test:8443/v1/x?q=1")).ShouldBe("https://redacted@api.example.test:8443/v1/x?q=1");
        PlanRedactor.RedactUrl("http://127.0.0.1:9/").ShouldBe("http://127.0.0.1:9/");
    }
}
