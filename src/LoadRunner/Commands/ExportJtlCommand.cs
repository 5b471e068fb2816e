using System.CommandLine;
using Constellation.Core.Results;
using Constellation.LoadRunner.Cli;

namespace Constellation.LoadRunner.Commands;

/// <summary><c>constellation export-jtl RUN</c>: a run's per-second results as a JMeter CSV JTL.</summary>
internal static class ExportJtlCommand
{
    public static Command Create(CliContext ctx)
    {
        var source = new Argument<string>("run") { Description = "A run.json, or the run folder that holds it." };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the JTL; '-' for standard output. Default: results.jtl next to run.json." };
        var cmd = new Command("export-jtl", """
            Write a run's per-second results as a JMeter CSV JTL, in JMeter's aggregate form: one row per scenario
            and second, elapsed and Latency summed over the row's samples, with SampleCount and ErrorCount columns
            (README "Coming from JMeter" lists every column).
            """) { source, output };
        cmd.SetAction(async (pr, ct) =>
        {
            if (await CliSupport.ReadRunArgumentAsync(ctx, pr.GetValue(source)!, ct).ConfigureAwait(false) is not var (record, json))
            {
                return ExitCodes.InvalidInput;
            }

            var target = pr.GetValue(output) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(json))!, "results.jtl");
            if (target == "-")
            {
                JtlWriter.Write(record, ctx.Out);
                return ExitCodes.Ok;
            }

            int rows;
            await using (var w = new StreamWriter(target, append: false, new System.Text.UTF8Encoding(false)))
            {
                rows = JtlWriter.Write(record, w);
            }

            ctx.Out.WriteLine($"wrote {target}: {rows} row(s), {record.Scenarios.Sum(s => s.Totals.Outcomes.Completed)} request(s)");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
