namespace IkeActors.Grains;

/// <summary>An operator session receiving `debug crypto ikev1` lines.</summary>
public interface IDebugObserver : IGrainObserver
{
    void OnLines(IReadOnlyList<string> lines);
}
