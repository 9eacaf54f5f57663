namespace IkeActors.Crypto; internal static class AssemblyMarker { }
