namespace Constellation.SpinService;

/// <summary>
/// A SpinService launched by a load generator dies with it: with <c>CONSTELLATION_EXIT_WITH_PARENT=stdin</c> it
/// stops when its standard input reaches its end — the generator holds the pipe's other end, and the kernel closes it
/// when the generator ends, also on SIGKILL (which no handler sees).
/// </summary>
internal static class ParentWatch
{
    public const string Variable = "CONSTELLATION_EXIT_WITH_PARENT";

    public static void StopWithParent(this WebApplication app)
    {
        // Only a pipe tells: standard input that is a terminal or /dev/null ends for other reasons.
        if (Environment.GetEnvironmentVariable(Variable) != "stdin" || new FileInfo("/proc/self/fd/0").LinkTarget?.StartsWith("pipe:", StringComparison.Ordinal) != true)
        {
            return;
        }

        var lifetime = app.Lifetime;
        var thread = new Thread(() =>
        {
            try
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[64];
                while (stdin.Read(buffer, 0, buffer.Length) > 0)
                {
                }
            }
            catch (IOException)
            {
            }

            lifetime.StopApplication();

            // Stopping gracefully should take well under a second; whatever holds it up does not keep this process alive.
            if (!lifetime.ApplicationStopped.WaitHandle.WaitOne(TimeSpan.FromSeconds(3)))
            {
                Environment.Exit(0);
            }
        })
        { IsBackground = true, Name = "parent-watch" };
        thread.Start();
    }
}
