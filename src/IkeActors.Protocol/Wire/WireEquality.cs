namespace IkeActors.Protocol;

/// <summary>Content equality for the lists in generated payload values.</summary>
public static class WireEquality
{
    public static bool ListEquals<T>(IReadOnlyList<T> left, IReadOnlyList<T> right) where T : IEquatable<T>
    {
        if (left.Count != right.Count) return false;
        for (var i = 0; i < left.Count; i++)
            if (!left[i].Equals(right[i])) return false;
        return true;
    }
}
