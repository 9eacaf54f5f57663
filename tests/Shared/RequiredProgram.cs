namespace IkeActors.Testing;

/// <summary>
/// A program a test runs, checked before the test needs it: when it is missing the test fails with one
/// line naming the Debian package (tests/install-deps.sh installs them all), not a stack trace from deep inside.
/// </summary>
internal static class RequiredProgram
{
    /// <summary>Fails the test unless <paramref name="program"/> (a name looked up on PATH, or an absolute path) can be run.</summary>
    public static void Check(string program, string debianPackage)
    {
        if (Find(program) is null)
            Assert.Fail($"{program} is not installed: install the Debian package {debianPackage} (tests/install-deps.sh installs every program the tests run)");
    }

    /// <summary>The full path of an executable program, or null.</summary>
    public static string? Find(string program)
    {
        if (Path.IsPathRooted(program)) return IsExecutable(program) ? program : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (IsExecutable(candidate)) return candidate;
        }
        return null;
    }

    private static bool IsExecutable(string path)
    {
        if (!File.Exists(path)) return false;
        if (OperatingSystem.IsWindows()) return true;
        return (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }
}
