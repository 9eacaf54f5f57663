namespace CustomPayload; internal static class AssemblyMarker { }
