using System.Runtime.CompilerServices;

namespace Constellation.Tests;

/// <summary>
/// Snapshot testing without Verify (not served here): compares text with Approved/NAME.approved.txt next to
/// the test sources and writes NAME.received.txt on a mismatch, to diff and approve by renaming.
/// </summary>
internal static class Approvals
{
    public static void Verify(string name, string actual, [CallerFilePath] string caller = "")
    {
        var dir = Path.Combine(Path.GetDirectoryName(caller)!, "Approved");
        var approved = Path.Combine(dir, name + ".approved.txt");
        var received = Path.Combine(dir, name + ".received.txt");
        actual = actual.ReplaceLineEndings("\n");
        var expected = File.Exists(approved) ? File.ReadAllText(approved).ReplaceLineEndings("\n") : null;
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }

        Directory.CreateDirectory(dir);
        File.WriteAllText(received, actual);
        throw new Xunit.Sdk.XunitException($"{name} differs from {approved}; the output is in {received}. Review it and rename it to .approved.txt if it is right.");
    }
}
