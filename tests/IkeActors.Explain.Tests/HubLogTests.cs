using IkeActors.Explain.Tests.Support;

namespace IkeActors.Explain.Tests;

/// <summary>
/// A hub on a dynamic crypto map (samples/Hub/hub.cfg) answering the seed's initiator: every line
/// of its log is a known catalog line in its message, and the dynamic-map lines point at the
/// `crypto dynamic-map` commands that made the hub accept the peer.
/// </summary>
public class HubLogTests
{
    [Fact]
    public void A_hub_log_is_followed_and_its_dynamic_map_lines_point_at_the_dynamic_map()
    {
        var hub = File.ReadAllText(Path.Combine(Repo.Root, "samples", "Hub", "hub.cfg"));
        using var lab = new EngineLab(EngineLab.Initiator, hub).Run();
        var options = new ExplainOptions();
        options.Configs.Add(("asa1-initiator.cfg", EngineLab.Initiator));
        options.Configs.Add(("hub.cfg", hub));
        var r = Explainer.Explain([("left.log", lab.LeftLog), ("hub.log", lab.RightLog)], options);

        Assert.Empty(r.Diagnoses);
        Assert.All(r.Lines.Where(l => l.Record.IsIke), l =>
        {
            Assert.Equal(MatchQuality.Exact, l.Quality);
            Assert.NotNull(l.ExchangeMessage);
        });
        var bypassed = Assert.Single(r.Lines, l => l.Message?.Name == "StaticCryptoMapBypassed");
        Assert.Equal("QM1", bypassed.ExchangeMessage);
        var configured = Assert.Single(r.Lines, l => l.Message?.Name == "RemotePeerConfiguredForCryptoMap");
        Assert.Contains(configured.Config, c => c.File == "hub.cfg" && c.Text.Trim() == "crypto map MAP 65535 ipsec-isakmp dynamic DYN");
        Assert.Contains(configured.Config, c => c.File == "hub.cfg" && c.Text.Trim() == "crypto dynamic-map DYN 10 set ikev1 transform-set ESP-AES-SHA");
        var acceptable = Assert.Single(r.Lines, l => l.Record.File == "hub.log" && l.Message?.Name == "IpsecSaProposalAcceptable");
        Assert.Contains(acceptable.Config, c => c.Text.Trim() == "crypto ipsec ikev1 transform-set ESP-AES-SHA esp-aes esp-sha-hmac");
    }
}
