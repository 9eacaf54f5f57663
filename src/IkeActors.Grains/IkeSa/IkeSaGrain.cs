using System.Net;
using System.Security.Cryptography;
using IkeActors.Negotiation;
using Microsoft.Extensions.Logging;

namespace IkeActors.Grains;

/// <summary>
/// One IKE SA as a grain. It owns an <see cref="IkeSa"/> (the pure Stateless machines of the
/// negotiation) and turns its actions into effects: datagrams returned to the front-end,
/// timers registered with the grain runtime, debug lines returned to the caller.
/// <para>
/// The partial files: Datagrams (the step: datagrams, acquires, traffic reports), Timers, Persistence, Peer
/// (the rules about the peer's other IKE SAs: Phase 1 rekey start and collision, INITIAL-CONTACT, dead peer),
/// HandOver (IPsec SAs moved between the old and the new IKE SA of a Phase 1 rekey), Ipsec (pairs to their
/// IPsec SA grains), Reminder (the backstop), Show, Admin, Diagnostics. Every field is here.
/// </para>
/// </summary>
/// <remarks>
/// Never collected for being idle: the activation owns the SA's timers (retransmission, DPD, rekey, lifetime), and an
/// SA whose peer says nothing is exactly the one DPD must end. A collected grain would wake only for a datagram or the
/// backstop reminder (none on a single node); a capacity run saw 76,880 IKE SA activations fall to 40,894 while their
/// SAs were up. The grain deactivates itself when its SA ends (deleted, failed, refused MM1).
/// </remarks>
[CollectionAgeLimit(AlwaysActive = true)]
public sealed partial class IkeSaGrain(
    GatewayContext gateway,
    IDatagramTransmitter transmitter,
    ILogger<IkeSaGrain> logger,
    [PersistentState("ikesa")] IPersistentState<IkeSaGrainState> stored)
    : Grain, IIkeSaGrain, IIkeSaPhase1Rekey, IIkeSaTeardown, IIkeSaAdmin, IIkeSaReport, IIkeSaPlacement, IGrainDiagnostics, IRemindable
{
    // The SA and how its steps are formatted.
    private IkeSa? _sa;
    private int _timerDebugLevel = 127;
    /// <summary>
    /// The level of steps no request started (timers, peer coordination, operator commands): the last request's, or
    /// higher while this silo's operators debug at a higher level now (`debug crypto ikev1 255` on a node running at
    /// 0 shows the R-U-THEREs and retransmissions of SAs that came up before the session began, as an ASA does).
    /// </summary>
    private int TimerDebugLevel => Math.Max(_timerDebugLevel, transmitter.DebugLevel);
    private int _consoleLevel;
    private NegotiationOutput? _raised;
    private readonly Telemetry.IkeSaTelemetry _telemetry = new();

    // Timers: the engine's (due on Environment.TickCount64) on one grain timer armed for the earliest (_clockAt; Timers),
    // and the absolute due times of the lifetime timers (stored with the snapshot).
    private readonly Dictionary<TimerKey, long> _timerDue = new();
    private IGrainTimer? _clock;
    private long _clockAt = long.MaxValue;
    private readonly Dictionary<TimerKey, DateTime> _due = new();

    // What was last stored and reported; whether the store waits for the deactivation, and a write is owed.
    private int _persistedDpdUnanswered;
    private bool _writeOnDeactivation, _unsaved;
    private string? _reportedState, _phase1Failure;
    private SaDirectoryUpdate? _reportedEntry;
    /// <summary>Pairs adopted from the SA this one replaced since the last directory report (not counted as installed again).</summary>
    private int _adoptedUnreported;
    /// <summary>The last directory report's sequence (<see cref="SaDirectoryUpdate.Sequence"/>).</summary>
    private long _reportSequence;

    // Phase 1 rekey: the grain that rekeys this SA; the peer's new SA that replaces it.
    private string? _rekeyedBy;
    private string? _successorKey;
    private bool _refusedAsCollision;

    // The backstop reminder.
    private bool _backstopRegistered;
    private bool _noReminderService;

    // Session times for the show commands.
    private DateTime? _lastInstall;
    private DateTime? _phase1At;

    // Remote-access address leases: the cluster's pool and user grains.
    private ClusterAddressBook? _addressBook;

    private readonly Guid _activation = Guid.NewGuid();

    private string Key => this.GetPrimaryKeyString();
    private string PeerKey => ParseKey(Key).Peer.ToString();

    /// <summary>A reactivation (after a silo loss or idle deactivation) continues the stored SA.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _telemetry.Export = ServiceProvider.GetService(typeof(Telemetry.DebugLogExport)) as Telemetry.DebugLogExport;
        _writeOnDeactivation = SaStateStoreOptions.WritesOnDeactivation(ServiceProvider);
        if (stored.State.Snapshot is not { } json) return;
        if (!json.AsSpan().ContainsAnyExcept((byte)0))
        {
            // A state handed over in memory (Orleans' migration) after this grain zeroed it: the store has the SA.
            await stored.ReadStateAsync(cancellationToken);
            if (stored.State.Snapshot is not { } read) return;
            json = read;
        }
        if (!Restore(json, "stored"))
        {
            await stored.ClearStateAsync(cancellationToken);
            return;
        }
        var output = new NegotiationOutput(0);
        _sa.ResumeTimers(output);
        _telemetry.Resume(stored.State.TraceParent);
        // The lifetime timers first: Apply reports the SA to the directory, with its Phase 1 rekey point.
        RearmLifetimeTimers(stored.State.Timers);
        Apply(output);
        _backstopRegistered = _sa.State == MainModeState.MM_ACTIVE; // registered by the previous activation
        _rekeyedBy = stored.State.RekeyedBy;
        _successorKey = stored.State.SuccessorKey;
    }

    /// <summary>
    /// The SA from a snapshot (stored, or handed over by the front-end), which is zeroed here whatever happens; false,
    /// with the reason logged, when it cannot be restored.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(_sa))]
    private bool Restore(byte[] json, string from)
    {
        IkeSaSnapshot? snapshot = null;
        try
        {
            snapshot = IkeSaSnapshotJson.Deserialize(json);
            if (snapshot is null) return false;
            _sa = IkeSa.Restore(gateway, snapshot);
            return true;
        }
        catch (Exception e) when (e is IkeSaSnapshotException or System.Text.Json.JsonException)
        {
            logger.LogWarning("IKE SA {Key} ({From}) cannot be restored: {Reason}", Key, from, e.Message);
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(json);
            snapshot?.ClearSecrets();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _clock?.Dispose();
        try { await WriteUnsaved(); }
        finally
        {
            _telemetry.Dispose();
            _sa?.Dispose();
        }
    }

    internal static (IPAddress Peer, ulong Cookie) ParseKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return (IPAddress.Parse(key[..slash]), Convert.ToUInt64(key[(slash + 1)..], 16));
    }

    internal static IkeActors.Config.Lookup.Packet ToPacket(AcquireRequest a) =>
        new(IPAddress.Parse(a.Source), IPAddress.Parse(a.Destination), a.Protocol, a.SourcePort, a.DestinationPort);
}
