namespace IkeActors.Protocol; internal static class AssemblyMarker { }
