using System.Text;
using IkeActors.Grains;
using IkeActors.Negotiation.Show;

namespace IkeActors.Gateway.Commands;

/// <summary>
/// `show crypto isakmp sa` from the SA directory alone (peer, role, state of each entry): no grain call per SA, so it
/// answers at 100,000 SAs as fast as the directory's partitions list them. Each entry is the text the SA's own grain
/// renders (`IIkeSaShow.ShowIsakmpEntry`, the same <see cref="ShowCommands.IsakmpEntry(int, string, bool, string)"/>).
/// </summary>
public static class IsakmpSaView
{
    public static string Render(IReadOnlyList<SaDirectoryEntry> sas)
    {
        if (sas.Count == 0) return "There are no IKEv1 SAs\n";
        var text = new StringBuilder(ShowCommands.IsakmpHeader(sas.Count), 120 * sas.Count + 200);
        for (var i = 0; i < sas.Count; i++)
            ShowCommands.AppendIsakmpEntry(text, i + 1, SaDirectory.PeerSpanOf(sas[i].Key), sas[i].Initiator, sas[i].ShowState, sas[i].RemoteAccess);
        return text.ToString();
    }
}
