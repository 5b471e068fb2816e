namespace Constellation.SpinService;

/// <summary>The control app's page: small, static and cheap, so its latency shows the cluster, not the app.</summary>
internal static class ControlPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>webapp — Constellation control app</title>
        <meta name="viewport" content="width=device-width, initial-scale=1"></head>
        <body>
        <h1>webapp</h1>
        <p>The control application. Constellation keeps a steady load on this page while the
        <code>spin</code> service is pushed until it breaks, and checks that this page stays fast.</p>
        </body>
        </html>

        """;
}
