namespace Constellation.Runs.Local;

/// <summary>
/// Notices that the process that started this one is gone: it keeps the write end of this process's standard input
/// open, and the kernel closes it when that process ends — also on SIGKILL, which no signal handler sees.
/// (<c>PR_SET_PDEATHSIG</c> would do too, but it fires when the parent's starting *thread* ends, and .NET starts
/// children from pool threads that come and go.)
/// </summary>
public static class ParentWatch
{
    /// <summary>
    /// A token cancelled when standard input — a pipe from the parent — reaches its end. When standard input is not
    /// a pipe (a terminal, /dev/null through a wrapper command) nothing can be told from it: the token never fires.
    /// </summary>
    public static CancellationToken WhenStdinCloses()
    {
        if (!StdinIsPipe())
        {
            return CancellationToken.None;
        }

        var gone = new CancellationTokenSource();
        var thread = new Thread(() =>
        {
            try
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (stdin.Read(buffer, 0, buffer.Length) > 0)
                {
                    // whatever the parent writes is ignored; only the end matters
                }
            }
            catch (IOException)
            {
            }

            gone.Cancel();
        })
        { IsBackground = true, Name = "constellation-parent-watch" };
        thread.Start();
        return gone.Token;
    }

    private static bool StdinIsPipe()
    {
        try
        {
            return new FileInfo("/proc/self/fd/0").LinkTarget?.StartsWith("pipe:", StringComparison.Ordinal) == true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
