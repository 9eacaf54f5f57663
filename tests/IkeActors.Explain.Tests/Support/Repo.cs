namespace IkeActors.Explain.Tests.Support;

internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Seed => Path.GetFullPath(Path.Combine(Root, "..", "shared", "seed"));
    public static string SeedDocument => Path.Combine(Seed, "asa-ikev1-main-mode-psk-debugs.txt");
    public static string SampleConfig(string name) => Path.Combine(Root, "samples", "SiteToSite", name);
    public static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IkeActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("IkeActors.sln not found above " + AppContext.BaseDirectory);
    }
}
