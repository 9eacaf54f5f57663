namespace IkeActors.Config; internal static class AssemblyMarker { }
