namespace IkeActors.Protocol.Tests.Support;

/// <summary>The repository root (the folder with IkeActors.sln) and the shared/ folder beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));
    public static string Seed => Path.Combine(Shared, "seed");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IkeActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("IkeActors.sln not found above " + AppContext.BaseDirectory);
    }
}
