using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Tests.Support;

/// <summary>Runs the constellation CLI in-process, capturing its output.</summary>
internal static class CliRunner
{
    public static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await ConstellationCli.RunAsync(args, new CliContext(o, e, Interactive: false, TestContext.Current.CancellationToken, CancellationToken.None));
        return (code, o.ToString(), e.ToString());
    }
}
