namespace Constellation.LoadRunner.Cli;

/// <summary>The exit-code contract, documented in the README. Stable: pipelines depend on it.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked (a ramp-to-fail that found its breaking point is a success).</summary>
    public const int Ok = 0;

    /// <summary>Something failed while running: a target did not start, a file could not be written.</summary>
    public const int RuntimeError = 1;

    /// <summary>Invalid input: a plan or option is wrong. Nothing was run.</summary>
    public const int InvalidInput = 2;

    /// <summary>The run is invalid: the generator was saturated or the observer missed too much; its result cannot be trusted.</summary>
    public const int RunInvalid = 3;

    /// <summary>import-jmx: elements of the .jmx could not be converted (they are listed); nothing was written without --allow-partial.</summary>
    public const int ImportIncomplete = 4;

    /// <summary>A threshold failed (or, for compare, a metric regressed): the gate says no.</summary>
    public const int ThresholdsFailed = 99;

    /// <summary>Interrupted by Ctrl+C or SIGTERM; what was measured until then is written.</summary>
    public const int Interrupted = 130;
}
