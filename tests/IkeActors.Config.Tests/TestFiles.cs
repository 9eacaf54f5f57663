using IkeActors.Config.Parsing;

namespace IkeActors.Config.Tests;

internal static class TestFiles
{
    /// <summary>The repository root: the first folder above the test assembly holding IkeActors.sln.</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IkeActors.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("IkeActors.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Sample(string name) => Path.Combine(RepoRoot, "samples", "SiteToSite", name);

    public static string Config(string name) => Path.Combine(AppContext.BaseDirectory, "Configs", name);

    /// <summary>A file of tests/data/seed (the seed document's device output and configurations).</summary>
    public static string Seed(string name) => Path.Combine(RepoRoot, "tests", "data", "seed", name);

    public static ConfigLoadResult LoadSeed(string name) => AsaConfigLoader.LoadFile(Seed(name));

    public static ConfigLoadResult LoadSample(string name) => AsaConfigLoader.LoadFile(Sample(name));

    public static ConfigLoadResult LoadConfig(string name) => AsaConfigLoader.LoadFile(Config(name));

    /// <summary>Asserts no errors, printing them when there are.</summary>
    public static void AssertValid(ConfigLoadResult result) =>
        Assert.True(result.IsValid, "errors:\n" + string.Join("\n", result.Errors.Select(e => e + "\n" + e.AsaStyle())));
}
