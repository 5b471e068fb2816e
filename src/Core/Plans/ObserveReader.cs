using System.Globalization;
using Constellation.Core.Text;
using YamlDotNet.RepresentationModel;

namespace Constellation.Core.Plans;

/// <summary>Reads and validates a plan's <c>observe</c> section.</summary>
internal static class ObserveReader
{
    public const double MaxProbeRate = 50;

    public static ObserveSpec? Read(YamlMap root, IReadOnlyDictionary<string, TargetSpec> targets, YamlErrors errors)
    {
        var o = YamlMap.From(root.Get("observe"), "observe", errors);
        if (o is null)
        {
            return null;
        }

        var baseline = NonNegative(o, "baseline", errors) ?? TimeSpan.Zero;
        var cooldown = NonNegative(o, "cooldown", errors) ?? TimeSpan.Zero;
        foreach (var (key, value) in new[] { ("baseline", baseline), ("cooldown", cooldown) })
        {
            if (value > TimeSpan.FromHours(1))
            {
                errors.Add(o.Child(key), $"must be at most 1h, got {Durations.Format(value)}", o.Get(key));
            }
        }

        LocalSamplerSpec? local = null;
        if (o.Has("local"))
        {
            var node = o.Get("local");
            if (node is YamlScalarNode { Value: "true" })
            {
                local = new LocalSamplerSpec();
            }
            else if (YamlMap.From(node, o.Child("local"), errors) is { } l)
            {
                local = new LocalSamplerSpec { Interval = Interval(l, "interval", TimeSpan.FromMilliseconds(100), errors) ?? TimeSpan.FromSeconds(1) };
                l.RejectUnknown();
            }
        }

        var probes = ReadProbes(o, targets, errors);
        var kubernetes = o.Has("kubernetes") ? ReadKubernetes(o, errors) : null;
        var prometheus = o.Has("prometheus") ? ReadPrometheus(o, errors) : null;
        o.RejectUnknown();
        return new ObserveSpec
        {
            Baseline = baseline,
            Cooldown = cooldown,
            Local = local,
            Probes = probes,
            Kubernetes = kubernetes,
            Prometheus = prometheus,
        };
    }

    private static List<ProbeSpec> ReadProbes(YamlMap o, IReadOnlyDictionary<string, TargetSpec> targets, YamlErrors errors)
    {
        var result = new List<ProbeSpec>();
        var seq = o.Sequence("probes");
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var p = YamlMap.From(seq.Children[i], $"{o.Child("probes")}[{i}]", errors);
            if (p is null)
            {
                continue;
            }

            var target = p.String("target", required: true);
            if (target is not null && !targets.ContainsKey(target))
            {
                errors.Add(p.Child("target"), $"unknown target '{target}' (defined: {string.Join(", ", targets.Keys)})", p.Get("target"));
            }

            var path = p.String("path") ?? "/";
            if (!path.StartsWith('/') || path.Any(char.IsWhiteSpace))
            {
                errors.Add(p.Child("path"), $"must start with / and contain no spaces, got '{path}'", p.Get("path"));
            }

            var rate = p.Number("rate") ?? 2;
            if (rate <= 0 || rate > MaxProbeRate)
            {
                errors.Add(p.Child("rate"), $"must be > 0 and at most {MaxProbeRate}/s (a probe is not load), got {rate.ToString(CultureInfo.InvariantCulture)}", p.Get("rate"));
            }

            var timeout = Interval(p, "timeout", TimeSpan.FromMilliseconds(10), errors) ?? TimeSpan.FromSeconds(5);
            p.RejectUnknown();
            if (target is not null && result.Any(r => r.Target == target))
            {
                errors.Add(p.Child("target"), $"'{target}' is probed twice", p.Get("target"));
            }

            result.Add(new ProbeSpec { Target = target ?? string.Empty, Path = path, Rate = rate, Timeout = timeout });
        }

        return result;
    }

    private static KubernetesSamplerSpec? ReadKubernetes(YamlMap o, YamlErrors errors)
    {
        var k = YamlMap.From(o.Get("kubernetes"), o.Child("kubernetes"), errors);
        if (k is null)
        {
            return null;
        }

        var kubeconfig = k.String("kubeconfig");
        var context = k.String("context");
        var inCluster = k.Bool("inCluster") ?? false;
        if (inCluster && (kubeconfig is not null || context is not null))
        {
            errors.Add(k.Child("inCluster"), "takes no kubeconfig or context (it uses the pod's service account)", k.Get("inCluster"));
        }

        var workloads = new List<WorkloadSpec>();
        var seq = k.Sequence("workloads", required: true);
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var w = YamlMap.From(seq.Children[i], $"{k.Child("workloads")}[{i}]", errors);
            if (w is null)
            {
                continue;
            }

            var ns = w.String("namespace") ?? "default";
            var deployment = w.String("deployment", required: true);
            var hpa = w.String("hpa");
            var selector = w.String("selector");
            foreach (var (key, value) in new[] { ("namespace", ns), ("deployment", deployment), ("hpa", hpa) })
            {
                if (value is not null && !IsDnsName(value))
                {
                    errors.Add(w.Child(key), $"must be a Kubernetes name (lower-case letters, digits, '-', '.'), got '{value}'", w.Get(key));
                }
            }

            w.RejectUnknown();
            if (deployment is not null)
            {
                if (workloads.Any(x => x.Namespace == ns && x.Deployment == deployment))
                {
                    errors.Add(w.Child("deployment"), $"{ns}/{deployment} is listed twice", w.Get("deployment"));
                }

                workloads.Add(new WorkloadSpec { Namespace = ns, Deployment = deployment, Hpa = hpa, Selector = selector });
            }
        }

        if (seq is not null && seq.Children.Count == 0)
        {
            errors.Add(k.Child("workloads"), "must list at least one deployment to watch", seq);
        }

        var eventNamespaces = new List<string>();
        var ev = k.Sequence("eventNamespaces");
        for (int i = 0; ev is not null && i < ev.Children.Count; i++)
        {
            var name = (ev.Children[i] as YamlScalarNode)?.Value;
            if (name is null || !IsDnsName(name))
            {
                errors.Add($"{k.Child("eventNamespaces")}[{i}]", "must be a namespace name", ev.Children[i]);
            }
            else
            {
                eventNamespaces.Add(name);
            }
        }

        var metrics = k.Duration("metricsInterval") ?? TimeSpan.FromSeconds(15);
        if (metrics < TimeSpan.Zero || (metrics > TimeSpan.Zero && metrics < TimeSpan.FromSeconds(1)))
        {
            errors.Add(k.Child("metricsInterval"), $"must be 0 (off) or at least 1s, got {Durations.Format(metrics)}", k.Get("metricsInterval"));
        }

        var requestTimeout = Interval(k, "requestTimeout", TimeSpan.FromSeconds(1), errors) ?? TimeSpan.FromSeconds(30);
        var nodeSelector = k.String("nodeSelector");
        k.RejectUnknown();
        return new KubernetesSamplerSpec
        {
            Kubeconfig = kubeconfig,
            Context = context,
            InCluster = inCluster,
            Workloads = workloads,
            NodeSelector = nodeSelector,
            EventNamespaces = eventNamespaces,
            MetricsInterval = metrics,
            RequestTimeout = requestTimeout,
        };
    }

    private static PrometheusSamplerSpec? ReadPrometheus(YamlMap o, YamlErrors errors)
    {
        var p = YamlMap.From(o.Get("prometheus"), o.Child("prometheus"), errors);
        if (p is null)
        {
            return null;
        }

        var urlText = p.String("url", required: true);
        Uri? url = null;
        if (urlText is not null && (!Uri.TryCreate(urlText, UriKind.Absolute, out url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add(p.Child("url"), $"must be an absolute http:// or https:// URL, got '{urlText}'", p.Get("url"));
        }

        var step = Interval(p, "step", TimeSpan.FromSeconds(1), errors) ?? TimeSpan.FromSeconds(15);
        var queries = new List<PromQuerySpec>();
        var seq = p.Sequence("queries", required: true);
        for (int i = 0; seq is not null && i < seq.Children.Count; i++)
        {
            var q = YamlMap.From(seq.Children[i], $"{p.Child("queries")}[{i}]", errors);
            if (q is null)
            {
                continue;
            }

            var name = q.String("name", required: true);
            var query = q.String("query", required: true);
            var unit = q.String("unit") ?? string.Empty;
            q.RejectUnknown();
            if (name is not null && query is not null)
            {
                queries.Add(new PromQuerySpec(name, query, unit));
            }
        }

        if (seq is not null && seq.Children.Count == 0)
        {
            errors.Add(p.Child("queries"), "must list at least one query", seq);
        }

        p.RejectUnknown();
        return url is null ? null : new PrometheusSamplerSpec { Url = url, Step = step, Queries = queries };
    }

    private static TimeSpan? NonNegative(YamlMap map, string key, YamlErrors errors)
    {
        var d = map.Duration(key);
        if (d < TimeSpan.Zero)
        {
            errors.Add(map.Child(key), $"must be >= 0, got {Durations.Format(d.Value)}", map.Get(key));
        }

        return d;
    }

    private static TimeSpan? Interval(YamlMap map, string key, TimeSpan min, YamlErrors errors)
    {
        var d = map.Duration(key);
        if (d is { } v && (v < min || v > TimeSpan.FromHours(1)))
        {
            errors.Add(map.Child(key), $"must be from {Durations.Format(min)} to 1h, got {Durations.Format(v)}", map.Get(key));
        }

        return d;
    }

    private static bool IsDnsName(string s) =>
        s.Length is > 0 and <= 253 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.') && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1]);
}
