using System.Runtime.InteropServices;
using Constellation.LoadRunner.Cli;

// Run socket continuations on the epoll thread instead of hopping to the thread pool: a load generator's
// continuations are tiny, and the hop costs more than the work (must be set before the first socket). Not for the
// service (serve), whose web server should not share its epoll threads with request handlers.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null && args.FirstOrDefault() != "serve")
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

using var cancel = new CancellationTokenSource();
using var abort = new CancellationTokenSource();

// First Ctrl+C / SIGTERM: stop sending, let in-flight requests finish, write what was measured.
// Second: close every connection now.
string? stoppedBy = null;
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    stoppedBy ??= context.Signal == PosixSignal.SIGTERM ? "cli (SIGTERM)" : "cli (Ctrl+C)";
    if (!cancel.IsCancellationRequested)
    {
        Console.Error.WriteLine("stopping: finishing in-flight requests and writing the record (again to abort)...");
        cancel.Cancel();
    }
    else
    {
        abort.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

var context = new CliContext(Console.Out, Console.Error, ProgressView.DetectInteractive(), cancel.Token, abort.Token)
{
    // Questions (cluster down) only when a person can answer them.
    ReadLine = Console.IsInputRedirected ? null : Console.ReadLine,
    CancelledBy = () => stoppedBy,
};
return await ConstellationCli.RunAsync(args, context).ConfigureAwait(false);
