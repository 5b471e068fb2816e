using System.Globalization;
using System.Text;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Constellation.Testing.FakeKubernetes;

/// <summary>
/// A Kubernetes API server stand-in on loopback that speaks the real wire format for what the observer uses:
/// lists with a resourceVersion, watch streams (newline-delimited JSON events) resumed from a resourceVersion,
/// 410 Gone as an in-stream ERROR Status after <see cref="Compact"/>, label and field selectors, and metrics.k8s.io
/// (which can be made to answer 503). Tests change objects with <see cref="Apply"/> and <see cref="Delete"/>.
/// </summary>
public sealed class FakeKubernetesServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Stored> _objects = new(StringComparer.Ordinal);
    private readonly List<Change> _history = [];
    private readonly List<Watcher> _watchers = [];
    private long _version = 100;
    private long _compactedBelow;
    private long _requests;
    private long _watchRequests;
    private long _listRequests;

    private FakeKubernetesServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>When set, metrics.k8s.io answers 503 (as while metrics-server starts).</summary>
    public bool MetricsUnavailable { get; set; }

    /// <summary>When set, every API request is answered with this status (e.g. 401 for expired credentials).</summary>
    public int? FailEverythingWith { get; set; }

    public Dictionary<string, (string Cpu, string Memory)> NodeUsage { get; } = new(StringComparer.Ordinal);

    /// <summary>Pod usage by namespace/name.</summary>
    public Dictionary<string, (string Cpu, string Memory)> PodUsage { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, every list (not watch) answer is held this long first: a slow API server.</summary>
    public TimeSpan ListDelay { get; set; }

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>List requests (not watches, not metrics): an observer that watches makes few.</summary>
    public long ListRequests => Interlocked.Read(ref _listRequests);

    public long WatchRequests => Interlocked.Read(ref _watchRequests);

    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    public static async Task<FakeKubernetesServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeKubernetesServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    /// <summary>Writes a kubeconfig for this server (bearer token auth) and returns its path.</summary>
    public string WriteKubeconfig(string directory, string token = "test-token")
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url.ToString().TrimEnd('/')}
            users:
            - name: tester
              user:
                token: {token}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: tester
            current-context: fake
            """);
        return path;
    }

    /// <summary>Creates or replaces an object; it gets the next resourceVersion and watchers see ADDED or MODIFIED.</summary>
    public void Apply<T>(T obj) where T : IKubernetesObject<V1ObjectMeta>
    {
        lock (_gate)
        {
            var resource = ResourceOf(obj);
            var key = Key(resource, obj.Metadata.NamespaceProperty, obj.Metadata.Name);
            var type = _objects.ContainsKey(key) ? "MODIFIED" : "ADDED";
            obj.Metadata.ResourceVersion = (++_version).ToString(CultureInfo.InvariantCulture);
            obj.Metadata.CreationTimestamp ??= Now();
            obj.Metadata.Uid ??= Guid.NewGuid().ToString();
            var stored = new Stored(resource, obj.Metadata.NamespaceProperty, obj.Metadata.Name, obj.Metadata.Labels?.ToDictionary() ?? [], KubernetesJson.Serialize(obj));
            _objects[key] = stored;
            Publish(new Change(_version, type, stored));
        }
    }

    public void Delete(string resource, string? ns, string name)
    {
        lock (_gate)
        {
            if (_objects.Remove(Key(resource, ns, name), out var stored))
            {
                ++_version;
                Publish(new Change(_version, "DELETED", stored with { Json = SetVersion(stored.Json, _version) }));
            }
        }
    }

    /// <summary>Forgets the change history: a watch resumed from an older resourceVersion now gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            _compactedBelow = _version;
            _history.Clear();
        }
    }

    /// <summary>Breaks the open watch streams of one resource (or all) mid-stream, as a dropped connection does.</summary>
    public void CutWatches(string? resource = null)
    {
        lock (_gate)
        {
            foreach (var w in _watchers.Where(w => resource is null || w.Resource == resource).ToList())
            {
                w.Abort();
            }
        }
    }

    /// <summary>Ends the open watch streams of one resource (or all) cleanly, as a server timeout does.</summary>
    public void CloseWatches(string? resource = null)
    {
        lock (_gate)
        {
            foreach (var w in _watchers.Where(w => resource is null || w.Resource == resource).ToList())
            {
                w.Lines.Writer.TryComplete();
            }
        }
    }

    /// <summary>The server's clock as Kubernetes writes it: whole seconds, UTC.</summary>
    public static DateTime Now()
    {
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
    }

    public async ValueTask DisposeAsync()
    {
        CutWatches();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static string ResourceOf(object obj) => obj switch
    {
        V1Pod => "pods",
        V1Node => "nodes",
        V1Deployment => "deployments",
        V2HorizontalPodAutoscaler => "horizontalpodautoscalers",
        Corev1Event => "events",
        _ => throw new ArgumentException($"the fake server does not serve {obj.GetType().Name}"),
    };

    private static (string Kind, string ApiVersion) ListKind(string resource) => resource switch
    {
        "pods" => ("PodList", "v1"),
        "nodes" => ("NodeList", "v1"),
        "events" => ("EventList", "v1"),
        "deployments" => ("DeploymentList", "apps/v1"),
        _ => ("HorizontalPodAutoscalerList", "autoscaling/v2"),
    };

    private static string Key(string resource, string? ns, string name) => $"{resource}/{ns}/{name}";

    private static string SetVersion(string json, long version)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        node["metadata"]!["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture);
        return node.ToJsonString();
    }

    private void Publish(Change change)
    {
        _history.Add(change);
        foreach (var w in _watchers.Where(w => w.Matches(change.Object)))
        {
            w.Lines.Writer.TryWrite(EventLine(change.Type, change.Object.Json));
        }
    }

    private static string EventLine(string type, string json) => $"{{\"type\":\"{type}\",\"object\":{json}}}\n";

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var path = context.Request.Path.Value ?? string.Empty;
        if (FailEverythingWith is { } status)
        {
            await StatusAsync(context, status, status == 401 ? "Unauthorized" : "Failure", "failing as configured").ConfigureAwait(false);
            return;
        }

        var segments = path.Trim('/').Split('/');
        if (path.StartsWith("/apis/metrics.k8s.io/", StringComparison.Ordinal))
        {
            await MetricsAsync(context, segments).ConfigureAwait(false);
            return;
        }

        // /api/v1/nodes, /api/v1/namespaces/{ns}/pods, /apis/{group}/{version}/namespaces/{ns}/{resource}
        var rest = segments[0] == "api" ? segments[2..] : segments[3..];
        string? ns = null;
        if (rest.Length >= 2 && rest[0] == "namespaces")
        {
            ns = rest[1];
            rest = rest[2..];
        }

        if (segments.Length == 4 && segments[0] == "api" && segments[2] == "namespaces")
        {
            (ns, rest) = (null, ["namespaces", segments[3]]); // the Namespace object itself
        }

        if (rest.Length == 2)
        {
            await OneAsync(context, rest[0], ns, rest[1]).ConfigureAwait(false);
            return;
        }

        if (rest.Length != 1)
        {
            await StatusAsync(context, 404, "NotFound", $"the fake server does not serve {path}").ConfigureAwait(false);
            return;
        }

        var resource = rest[0];
        var q = context.Request.Query;
        var filter = new Filter(resource, ns, Selector(q["labelSelector"]), Selector(q["fieldSelector"]));
        if (q["watch"] == "true" || q["watch"] == "1")
        {
            await WatchAsync(context, filter, q["resourceVersion"].ToString(), int.TryParse(q["timeoutSeconds"], out var t) ? t : 300).ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref _listRequests);
        if (ListDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(ListDelay, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        string body;
        lock (_gate)
        {
            var (kind, apiVersion) = ListKind(resource);
            var items = _objects.Values.Where(filter.Matches).Select(o => o.Json);
            body = $"{{\"kind\":\"{kind}\",\"apiVersion\":\"{apiVersion}\",\"metadata\":{{\"resourceVersion\":\"{_version}\"}},\"items\":[{string.Join(',', items)}]}}";
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body).ConfigureAwait(false);
    }

    /// <summary>Server-side applies seen: (resource, namespace, name, fieldManager, force).</summary>
    public List<(string Resource, string? Namespace, string Name, string? FieldManager, bool Force)> Applied { get; } = [];

    /// <summary>Deletes seen: (resource, namespace, name, propagationPolicy).</summary>
    public List<(string Resource, string? Namespace, string Name, string PropagationPolicy)> Deleted { get; } = [];

    /// <summary>When set, an applied Deployment reports all its replicas Ready at once (a stand-in for the controllers).</summary>
    public bool DeploymentsBecomeReady { get; set; } = true;

    /// <summary>GET or server-side apply (PATCH, application/apply-patch+yaml) of one object.</summary>
    private async Task OneAsync(HttpContext context, string resource, string? ns, string name)
    {
        var key = Key(resource, ns, name);
        if (HttpMethods.IsDelete(context.Request.Method))
        {
            bool existed;
            lock (_gate)
            {
                existed = _objects.ContainsKey(key);
                Deleted.Add((resource, ns, name, context.Request.Query["propagationPolicy"].ToString()));
            }

            if (!existed)
            {
                await StatusAsync(context, 404, "NotFound", $"{resource} \"{name}\" not found").ConfigureAwait(false);
                return;
            }

            Delete(resource, ns, name);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\"}").ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsPatch(context.Request.Method))
        {
            if (context.Request.ContentType?.StartsWith("application/apply-patch", StringComparison.Ordinal) != true)
            {
                await StatusAsync(context, 415, "UnsupportedMediaType", $"the fake server only takes server-side apply, got {context.Request.ContentType}").ConfigureAwait(false);
                return;
            }

            var fieldManager = context.Request.Query["fieldManager"].ToString();
            if (fieldManager.Length == 0)
            {
                await StatusAsync(context, 400, "BadRequest", "fieldManager is required for apply requests").ConfigureAwait(false);
                return;
            }

            using var reader = new StreamReader(context.Request.Body);
            var node = System.Text.Json.Nodes.JsonNode.Parse(await reader.ReadToEndAsync().ConfigureAwait(false))!.AsObject();
            if (resource == "deployments" && DeploymentsBecomeReady)
            {
                var replicas = node["spec"]?["replicas"]?.GetValue<int>() ?? 1;
                node["status"] = new System.Text.Json.Nodes.JsonObject { ["replicas"] = replicas, ["readyReplicas"] = replicas, ["availableReplicas"] = replicas };
            }

            string json;
            lock (_gate)
            {
                var type = _objects.ContainsKey(key) ? "MODIFIED" : "ADDED";
                node["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
                node["metadata"]!["uid"] ??= Guid.NewGuid().ToString();
                json = node.ToJsonString();
                var labels = node["metadata"]?["labels"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? string.Empty) ?? [];
                var stored = new Stored(resource, ns, name, labels, json);
                _objects[key] = stored;
                Applied.Add((resource, ns, name, fieldManager, context.Request.Query["force"] == "true"));
                Publish(new Change(_version, type, stored));
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(json).ConfigureAwait(false);
            return;
        }

        Stored? found;
        lock (_gate)
        {
            found = _objects.GetValueOrDefault(key);
        }

        if (found is null)
        {
            await StatusAsync(context, 404, "NotFound", $"{resource} \"{name}\" not found").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(found.Json).ConfigureAwait(false);
    }

    private async Task WatchAsync(HttpContext context, Filter filter, string fromVersion, int timeoutSeconds)
    {
        Interlocked.Increment(ref _watchRequests);
        var watcher = new Watcher(filter, context);
        lock (_gate)
        {
            if (long.TryParse(fromVersion, out var from) && from > 0)
            {
                if (from < _compactedBelow)
                {
                    // The real API server answers 200 and then an ERROR event carrying a 410 Status.
                    watcher.Lines.Writer.TryWrite(EventLine("ERROR", $"{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\",\"message\":\"too old resource version: {from} ({_compactedBelow})\",\"reason\":\"Expired\",\"code\":410}}"));
                    watcher.Lines.Writer.TryComplete();
                }
                else
                {
                    foreach (var c in _history.Where(c => c.Version > from && filter.Matches(c.Object)))
                    {
                        watcher.Lines.Writer.TryWrite(EventLine(c.Type, c.Object.Json));
                    }
                }
            }
            else
            {
                foreach (var o in _objects.Values.Where(filter.Matches))
                {
                    watcher.Lines.Writer.TryWrite(EventLine("ADDED", o.Json));
                }
            }

            _watchers.Add(watcher);
        }

        context.Response.ContentType = "application/json";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await context.Response.StartAsync(timeout.Token).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(timeout.Token).ConfigureAwait(false);
            await foreach (var line in watcher.Lines.Reader.ReadAllAsync(timeout.Token).ConfigureAwait(false))
            {
                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line), timeout.Token).ConfigureAwait(false);
                if (watcher.Lines.Reader.Count == 0)
                {
                    await context.Response.Body.FlushAsync(timeout.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(watcher);
            }
        }
    }

    private async Task MetricsAsync(HttpContext context, string[] segments)
    {
        if (MetricsUnavailable)
        {
            await StatusAsync(context, 503, "ServiceUnavailable", "the server is currently unable to handle the request").ConfigureAwait(false);
            return;
        }

        var now = Now();
        object list;
        if (segments[^1] == "nodes")
        {
            list = new NodeMetricsList
            {
                ApiVersion = "metrics.k8s.io/v1beta1",
                Kind = "NodeMetricsList",
                Metadata = new V1ObjectMeta(),
                Items = NodeUsage.Select(kv => new NodeMetrics
                {
                    Metadata = new V1ObjectMeta { Name = kv.Key },
                    Timestamp = now,
                    Window = "15s",
                    Usage = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(kv.Value.Cpu), ["memory"] = new(kv.Value.Memory) },
                }).ToList(),
            };
        }
        else
        {
            var ns = segments[^2];
            list = new PodMetricsList
            {
                ApiVersion = "metrics.k8s.io/v1beta1",
                Kind = "PodMetricsList",
                Metadata = new V1ObjectMeta(),
                Items = PodUsage.Where(kv => kv.Key.StartsWith(ns + "/", StringComparison.Ordinal)).Select(kv => new PodMetrics
                {
                    Metadata = new V1ObjectMeta { Name = kv.Key[(ns.Length + 1)..], NamespaceProperty = ns },
                    Timestamp = now,
                    Window = "15s",
                    Containers = [new ContainerMetrics { Name = "app", Usage = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(kv.Value.Cpu), ["memory"] = new(kv.Value.Memory) } }],
                }).ToList(),
            };
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(KubernetesJson.Serialize(list)).ConfigureAwait(false);
    }

    private static async Task StatusAsync(HttpContext context, int code, string reason, string message)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($"{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\",\"message\":\"{message}\",\"reason\":\"{reason}\",\"code\":{code}}}").ConfigureAwait(false);
    }

    private static Dictionary<string, string> Selector(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            result[kv[0].Trim()] = kv.Length > 1 ? kv[1].Trim() : string.Empty;
        }

        return result;
    }

    private sealed record Stored(string Resource, string? Namespace, string Name, Dictionary<string, string> Labels, string Json);

    private sealed record Change(long Version, string Type, Stored Object);

    private sealed record Filter(string Resource, string? Namespace, Dictionary<string, string> Labels, Dictionary<string, string> Fields)
    {
        public bool Matches(Stored o) =>
            o.Resource == Resource
            && (Namespace is null || o.Namespace == Namespace)
            && Labels.All(l => o.Labels.TryGetValue(l.Key, out var v) && v == l.Value)
            && Fields.All(f => f.Key switch
            {
                "metadata.name" => o.Name == f.Value,
                "metadata.namespace" => o.Namespace == f.Value,
                _ => true,
            });
    }

    private sealed class Watcher(Filter filter, HttpContext context)
    {
        public Filter Filter { get; } = filter;
        public string Resource => Filter.Resource;
        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();

        public bool Matches(Stored o) => Filter.Matches(o);

        public void Abort()
        {
            Lines.Writer.TryComplete();
            context.Abort();
        }
    }
}
