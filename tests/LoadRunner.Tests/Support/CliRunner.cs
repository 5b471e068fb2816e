using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Tests.Support;

/// <summary>Runs the constellation CLI in-process, capturing its output.</summary>
internal static class CliRunner
{
    /// <summary>Runs with extra environment variables seen by the CLI (secrets for ${env:NAME}), the process's others too.</summary>
    public static async Task<(int Code, string Out, string Err)> RunWithEnvAsync(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var context = new CliContext(o, e, Interactive: false, TestContext.Current.CancellationToken, CancellationToken.None)
        {
            Environment = name => env.TryGetValue(name, out var v) ? v : Environment.GetEnvironmentVariable(name),
        };
        var code = await ConstellationCli.RunAsync(args, context);
        return (code, o.ToString(), e.ToString());
    }

    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await ConstellationCli.RunAsync(args, new CliContext(o, e, Interactive: false, TestContext.Current.CancellationToken, CancellationToken.None));
        return (code, o.ToString(), e.ToString());
    }
}
