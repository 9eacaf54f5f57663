namespace IkeActors.Grains;

/// <summary>
/// <c>GetGrain&lt;T&gt;(key)</c> without the lookup Orleans 10.4 repeats on every call: its GrainFactory resolves the
/// interface's grain interface type from the interface's attributes each time (2.6 % of a hub node's CPU per new
/// tunnel in a profile, for about a dozen references per tunnel). The grain type and interface type of
/// <typeparamref name="T"/> are taken from the first reference and reused; the reference is the one
/// <see cref="IGrainFactory.GetGrain(GrainId, GrainInterfaceType)"/> makes.
/// </summary>
public static class GrainReferences
{
    public static T Reference<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey =>
        Resolved<T>.Types is { } t ? (T)grains.GetGrain(GrainId.Create(t.Type, key), t.Interface) : Resolved<T>.First(grains.GetGrain<T>(key));

    public static T Reference<T>(this IGrainFactory grains, long key) where T : IGrainWithIntegerKey =>
        Resolved<T>.Types is { } t ? (T)grains.GetGrain(GrainId.Create(t.Type, GrainIdKeyExtensions.CreateIntegerKey(key)), t.Interface)
            : Resolved<T>.First(grains.GetGrain<T>(key));

    private static class Resolved<T> where T : IAddressable
    {
        public sealed record Pair(GrainType Type, GrainInterfaceType Interface);

        public static volatile Pair? Types;

        public static T First(T reference)
        {
            var r = (GrainReference)(object)reference;
            Types = new Pair(r.GrainId.Type, r.InterfaceType);
            return reference;
        }
    }
}
