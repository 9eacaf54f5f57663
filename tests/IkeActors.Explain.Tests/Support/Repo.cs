namespace IkeActors.Explain.Tests.Support;

internal static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>The Cisco document's device output (tests/data/seed, see its README): its line N is the document's line N.</summary>
    public static string SeedDocument => Path.Combine(Root, "tests", "data", "seed", "asa-ikev1-main-mode-psk-debugs.device-output.txt");
    public static string SampleConfig(string name) => Path.Combine(Root, "samples", "SiteToSite", name);
    public static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IkeActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("IkeActors.sln not found above " + AppContext.BaseDirectory);
    }
}
