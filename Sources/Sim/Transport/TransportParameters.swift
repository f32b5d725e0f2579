// The named, documented numbers of the transport model, with their defaults, sources and `<param>` names.

/// Which direction of a link carries the bandwidth cost of the Ack and UpdateFC DLLPs that acknowledge and
/// return credits for the TLPs of the other direction.
public enum DLLPChargeDirection: String, Sendable, Hashable, CaseIterable {
    /// Charged to the direction whose TLPs they acknowledge: what pcie-bench's `B_TLP` does (reference §1.3),
    /// and what ``LinkEfficiency/explicitAckTLPDataRate(generation:width:ackInterval:)`` derives. The default:
    /// the reference's fidelity band is defined this way, and real traffic is rarely one-way (descriptor
    /// fetches, doorbells and completions load the other direction, whose DLLPs then share the data direction).
    case data
    /// Charged where the DLLPs physically travel: the opposite direction (PCIe Base §3.6, §2.6.1). A one-way
    /// stream then loses no DLLP time on its own direction (above the width-scaled accounting).
    case reverse
}

/// The credit counts a receiver advertises for one of the three flow-control classes (PCIe Base §2.6.1).
/// `nil` means infinite (advertised as 0, §2.6.1: Root Complexes and Endpoints advertise infinite
/// completion credits).
public struct CreditAdvertisement: Sendable, Hashable {
    public var header: Int?
    public var data: Int?
    public init(header: Int?, data: Int?) {
        self.header = header
        self.data = data
    }
    public static let infinite = CreditAdvertisement(header: nil, data: nil)
}

/// Every number the transport model uses, with its default and source.
///
/// A value applies to the whole run; each one can be overridden per element of the topology with
/// `<param name="NAME" value="..."/>` (names in ``TransportParameters/names``). A `<param>` applies to the element
/// it sits in and everything below it, the nearest one winning (device, then the bridges above it, then its root
/// complex). Topology attributes that describe the same quantity (a switch's `latency`, a root complex's
/// `p2p-latency`, `p2p-rate-cap`, `dma-cap`, a socket's `memory-latency`, an endpoint's `issue-rate` and
/// `outstanding-reads`) come next; the defaults here come last. docs/TRANSPORT.md lists them all.
public struct TransportParameters: Sendable, Hashable {
    // MARK: Links

    /// `link.latency`: flight and PHY pipeline time added to every TLP and DLLP crossing a link, per direction.
    /// Default 0: no public source isolates it; the measured round trips (reference rows 7, 8) are absorbed in
    /// ``memoryLatency``.
    public var linkLatency: Picoseconds = 0
    /// `link.ackInterval`: the Ack/UpdateFC coalescing interval. nil: `T / W^α` with T the spec's maximum Ack latency
    /// for the link's generation, width and MPS (PCIe Base Tables 3-7..3-9, ``LinkEfficiency/ackCoalescingInterval``)
    /// and α = ``ackWidthExponent``.
    public var ackInterval: Picoseconds? = nil
    /// `link.ackWidthExponent`: α in the default coalescing interval `T / W^α`. 0 is the spec's best case (Acks at the
    /// maximum latency: the width-scaled accounting, what the model did before it was measured), 1 is pcie-bench's
    /// published accounting (reference §1.7: the two bracket reality). Default 0.6: the mean α that three measured
    /// posted-write streams imply (Gen3 x8 pcie-bench NFP-6000 on a Xeon E5-2637 v3, 54.44 Gb/s; Gen4 x16 RX 7900 XTX
    /// on an EPYC 7542, 29.01 GB/s; Gen5 x16 RTX PRO 6000 P2P on Turin, 56.57 GB/s), recomputed by
    /// scripts/fidelity/derive.py from fidelity/derivation.tsv (docs/FIDELITY.md).
    public var ackWidthExponent: Double = PlatformDefaults.derivedAckWidthExponent
    /// `link.dllpDirection`: `data` or `reverse`, see ``DLLPChargeDirection``.
    public var dllpDirection: DLLPChargeDirection = .data
    /// `tlp.ecrc`: the requester appends an ECRC digest (+4 bytes, PCIe Base §2.7) to its TLPs.
    public var ecrc: Bool = false

    // MARK: Flow control (receiver side)

    /// `credits.bufferTime`: the receive buffer a port has, expressed as time at its link's rate; the default
    /// posted and completion data credits are `max(rate × bufferTime, 4 × MPS) / 16`. Default 640 ns: the Intel
    /// Xeon C5500/C3500 root port (datasheet vol. 1, 323103-001, Table 76) advertises 320 posted data credits
    /// (5,120 bytes) on its Gen2 x16 port, 640 ns at 8 GB/s; scaling the bytes with the rate keeps that time at
    /// every generation and width. The floor of four MPS-sized TLPs keeps narrow links streaming across one
    /// coalescing interval.
    public var creditBufferTime: Picoseconds = 640_000
    /// `credits.posted.header`, `credits.posted.data`: nil derives them: data from ``creditBufferTime``, headers at
    /// the C5500's ratio of one header per 5 data credits (64 PH : 320 PD at x16). `0` or `inf` means infinite.
    public var postedHeaderCredits: Int? = nil
    public var postedDataCredits: Int? = nil
    /// `credits.nonPosted.header`, `credits.nonPosted.data`: nil: headers 9/8 of the posted headers (C5500:
    /// 72 NPH at x16), data 4 credits (C5500 NPRD 4; MRd carries no data).
    public var nonPostedHeaderCredits: Int? = nil
    public var nonPostedDataCredits: Int? = nil
    /// `credits.completion.header`, `credits.completion.data`: switch ports and bridges only; nil derives them as
    /// for posted. Root complexes and endpoints always advertise infinite completion credits (PCIe Base §2.6.1).
    public var completionHeaderCredits: Int? = nil
    public var completionDataCredits: Int? = nil

    // MARK: Switches

    /// `switch.latency`: port-to-port cut-through latency. nil: the switch's `latency` attribute, else by the
    /// generation of its upstream link: 105 ns Gen4 (Broadcom PEX88000), 115 ns Gen5 and later (PEX89144), ~150 ns
    /// Gen1-3 (PEX9700 class, "30 % higher" than PEX88000) — reference §4 and row 39.
    public var switchLatency: Picoseconds? = nil

    // MARK: Root complexes

    /// `rc.memoryLatency`: from a read request's arrival at the root complex to its completions leaving it.
    /// nil: the socket's `memory-latency`, else 500 ns: the pcie-bench 64 B DMA read latency on Gen3 x8 (reference
    /// row 8: minimum 506 ns; row 7: median 546 ns) less the request and completion serialization (~14 ns),
    /// rounded.
    public var memoryLatency: Picoseconds? = nil
    /// `rc.p2pLatency`: added to a peer-to-peer TLP the root complex turns around. nil: the root complex's
    /// `p2p-latency`, else 150 ns. No public figure isolates it (reference row 21 gives 0.35-0.45 µs end to end
    /// through an AMD Turin root complex, GPUs included); an assumption of the order of a switch traversal.
    public var p2pLatency: Picoseconds? = nil
    /// `rc.p2pRateCap`: payload rate cap on peer-to-peer traffic through the root complex (reference rows 26-28:
    /// ~7.1 GB/s on a Xeon E5 v4). nil: the root complex's `p2p-rate-cap`, else none.
    public var p2pRateCap: DataRate? = nil
    /// `rc.dmaCap`: payload rate cap on all DMA to and from memory through the root complex. nil: `dma-cap`,
    /// else none.
    public var dmaCap: DataRate? = nil
    /// `rc.completionSize`: `mps` (completions up to MPS, pcie-bench default) or `rcb` (one RCB each, "several
    /// older chipsets"; reference §1.4).
    public var completionSize: TLPWireSplit.CompletionSize = .maxPayloadSize

    // MARK: Endpoints

    /// `dma.issueRate`: TLPs per second the DMA engine issues at most. nil: the endpoint's `issue-rate`, else
    /// none (reference §1.5: "tens of millions" on real devices; set it per device).
    public var issueRate: Double? = nil
    /// `dma.outstandingReads`: read requests in flight per requester. nil: `outstanding-reads`, else the tag limit.
    public var outstandingReads: Int? = nil
    /// `dma.readIssueRate`: read requests (and ATS translation requests) per second the DMA engine issues at
    /// most, on top of `dma.issueRate`. nil: no separate read limit. A device's engines fetch and post through
    /// different pipelines (descriptor/read engines vs. write engines), so one `issue-rate` cannot fit both
    /// directions (issue #16). No per-class default: no public source gives a per-direction issue rate for a GPU
    /// copy engine, an NVMe controller, a NIC or an FPGA DMA core (docs/TRANSPORT.md, "DMA engines"); set it per
    /// device from a measurement.
    public var readIssueRate: Double? = nil
    /// `dma.writeIssueRate`: posted write TLPs per second the DMA engine issues at most, on top of
    /// `dma.issueRate`. nil: no separate write limit (no public per-class source, as for reads).
    public var writeIssueRate: Double? = nil
    /// `dma.launchLatency`: per DMA of a per-DMA flow (one with a transfer size), the time from the engine taking the
    /// DMA on to its first TLP, counted in the DMA's latency: a copy engine's per-copy launch cost, which
    /// `p2pBandwidthLatencyTest`'s latency includes. nil: the device family's default (``DeviceDefaults``), else none.
    public var launchLatency: Picoseconds? = nil
    /// `endpoint.completerLatency`: an endpoint answering a peer's read, from request to completions. Default
    /// 500 ns: assumed like host memory (``memoryLatency``); device memory behind a BAR is DRAM/HBM behind the
    /// device's own fabric.
    public var completerLatency: Picoseconds = 500_000
    /// `endpoint.peerWriteIngress`: rate at which an endpoint accepts peer-to-peer posted writes into its BARs. nil: the
    /// device family's default (``DeviceDefaults``, derived from published P2P measurements), else none.
    public var peerWriteIngress: DataRate? = nil
    /// `ats.cacheEntries`: entries of a device's ATC (Address Translation Cache, PCIe Base §10). Default 64: no
    /// public figure; the IOTLB estimate of reference §4.
    public var atcEntries: Int = 64
    /// `ats.completionBytes`: data of one ATS Translation Completion (one 8-byte translation, PCIe Base §10.2.3).
    public var translationCompletionBytes: Int = 8

    // MARK: Results

    /// Blocked TLPs recorded in full (then only counted per place and reason).
    public var blockedRecordLimit: Int = 100

    public init() {}
}

extension TransportParameters {
    /// One overridable parameter: its `<param>` name, what its value looks like, and how it applies.
    public struct Name: Sendable {
        public let name: String
        public let valueSyntax: String
        public let summary: String
        let apply: @Sendable (inout TransportParameters, Substring) -> Bool
    }

    /// The `<param>` names the transport model reads. Names with a prefix listed in ``namespaces`` that are not
    /// here are reported as errors.
    public static let names: [Name] = [
        Name(name: "link.latency", valueSyntax: "duration", summary: "flight + PHY latency per link direction") {
            $0.linkLatency = $1.duration ?? -1; return $0.linkLatency >= 0
        },
        Name(name: "link.ackInterval", valueSyntax: "duration", summary: "Ack/UpdateFC coalescing interval") {
            guard let v = $1.duration, v > 0 else { return false }
            $0.ackInterval = v; return true
        },
        Name(name: "link.ackWidthExponent", valueSyntax: "number 0...1", summary: "α in the default Ack interval T / W^α (0: spec best case)") {
            guard let v = Double($1), v >= 0, v <= 1 else { return false }
            $0.ackWidthExponent = v; return true
        },
        Name(name: "link.dllpDirection", valueSyntax: "data | reverse", summary: "direction charged for Ack/UpdateFC") {
            guard let v = DLLPChargeDirection(rawValue: String($1)) else { return false }
            $0.dllpDirection = v; return true
        },
        Name(name: "tlp.ecrc", valueSyntax: "true | false", summary: "requester appends ECRC") {
            guard let v = $1.boolean else { return false }
            $0.ecrc = v; return true
        },
        Name(name: "credits.bufferTime", valueSyntax: "duration", summary: "receive buffer as time at link rate") {
            guard let v = $1.duration, v > 0 else { return false }
            $0.creditBufferTime = v; return true
        },
        Name(name: "credits.posted.header", valueSyntax: "count | inf", summary: "PH credits advertised") {
            $1.credits(&$0.postedHeaderCredits)
        },
        Name(name: "credits.posted.data", valueSyntax: "count | inf", summary: "PD credits advertised (16 B each)") {
            $1.credits(&$0.postedDataCredits)
        },
        Name(name: "credits.nonPosted.header", valueSyntax: "count | inf", summary: "NPH credits advertised") {
            $1.credits(&$0.nonPostedHeaderCredits)
        },
        Name(name: "credits.nonPosted.data", valueSyntax: "count | inf", summary: "NPD credits advertised") {
            $1.credits(&$0.nonPostedDataCredits)
        },
        Name(name: "credits.completion.header", valueSyntax: "count | inf", summary: "CplH credits (switch ports)") {
            $1.credits(&$0.completionHeaderCredits)
        },
        Name(name: "credits.completion.data", valueSyntax: "count | inf", summary: "CplD credits (switch ports)") {
            $1.credits(&$0.completionDataCredits)
        },
        Name(name: "switch.latency", valueSyntax: "duration", summary: "cut-through latency port to port") {
            guard let v = $1.duration else { return false }
            $0.switchLatency = v; return true
        },
        Name(name: "rc.memoryLatency", valueSyntax: "duration", summary: "read request to completions at the RC") {
            guard let v = $1.duration else { return false }
            $0.memoryLatency = v; return true
        },
        Name(name: "rc.p2pLatency", valueSyntax: "duration", summary: "added to P2P traffic turned around in the RC") {
            guard let v = $1.duration else { return false }
            $0.p2pLatency = v; return true
        },
        Name(name: "rc.p2pRateCap", valueSyntax: "rate", summary: "P2P payload rate cap through the RC") {
            guard let v = DataRate.parse($1) else { return false }
            $0.p2pRateCap = v; return true
        },
        Name(name: "rc.dmaCap", valueSyntax: "rate", summary: "DMA payload rate cap through the RC") {
            guard let v = DataRate.parse($1) else { return false }
            $0.dmaCap = v; return true
        },
        Name(name: "rc.completionSize", valueSyntax: "mps | rcb", summary: "completion size of the completer") {
            switch $1 {
            case "mps": $0.completionSize = .maxPayloadSize
            case "rcb": $0.completionSize = .readCompletionBoundary
            default: return false
            }
            return true
        },
        Name(name: "dma.issueRate", valueSyntax: "TLPs per second", summary: "DMA engine issue-rate cap") {
            guard let v = Double($1), v > 0, v.isFinite else { return false }
            $0.issueRate = v; return true
        },
        Name(name: "dma.outstandingReads", valueSyntax: "count", summary: "read requests in flight per requester") {
            guard let v = Int($1), v > 0 else { return false }
            $0.outstandingReads = v; return true
        },
        Name(name: "dma.readIssueRate", valueSyntax: "TLPs per second", summary: "read requests issued per second at most") {
            guard let v = Double($1), v > 0, v.isFinite else { return false }
            $0.readIssueRate = v; return true
        },
        Name(name: "dma.writeIssueRate", valueSyntax: "TLPs per second", summary: "posted writes issued per second at most") {
            guard let v = Double($1), v > 0, v.isFinite else { return false }
            $0.writeIssueRate = v; return true
        },
        Name(name: "dma.launchLatency", valueSyntax: "duration", summary: "per DMA: launch to first TLP") {
            guard let v = $1.duration, v >= 0 else { return false }
            $0.launchLatency = v; return true
        },
        Name(name: "endpoint.completerLatency", valueSyntax: "duration", summary: "peer read request to completions") {
            guard let v = $1.duration else { return false }
            $0.completerLatency = v; return true
        },
        Name(name: "endpoint.peerWriteIngress", valueSyntax: "rate", summary: "peer-to-peer writes accepted into the device's BARs") {
            guard let v = DataRate.parse($1), v.bytesPerSecond > 0 else { return false }
            $0.peerWriteIngress = v; return true
        },
        Name(name: "ats.cacheEntries", valueSyntax: "count", summary: "device ATC entries") {
            guard let v = Int($1), v > 0 else { return false }
            $0.atcEntries = v; return true
        },
        Name(name: "ats.completionBytes", valueSyntax: "bytes", summary: "data of one translation completion") {
            guard let v = Int($1), v > 0, v <= 4096 else { return false }
            $0.translationCompletionBytes = v; return true
        },
    ]

    /// Prefixes owned by the transport model: a `<param>` starting with one of these must be a known name.
    public static let namespaces = ["link.", "tlp.", "credits.", "switch.", "rc.", "dma.", "endpoint.", "ats."]

    /// These parameters with `overrides` applied in order (later ones win). Returns the problems found.
    func applying(_ overrides: [Parameter], element: String) -> (TransportParameters, [String]) {
        var result = self
        var problems: [String] = []
        for p in overrides where Self.namespaces.contains(where: { p.name.hasPrefix($0) }) {
            guard let known = Self.names.first(where: { $0.name == p.name }) else {
                problems.append("'\(element)': unknown transport parameter '\(p.name)' (known: see docs/TRANSPORT.md)")
                continue
            }
            if !known.apply(&result, p.value.trimmingSpaces) {
                problems.append("'\(element)': parameter '\(p.name)' value '\(p.value)' is not a \(known.valueSyntax)")
            }
        }
        return (result, problems)
    }
}

extension Substring {
    var duration: Picoseconds? { Duration.parse(self) }
    var boolean: Bool? {
        switch self {
        case "true", "1", "yes": true
        case "false", "0", "no": false
        default: nil
        }
    }
    /// A credit count; `inf` or `0` is infinite (PCIe Base §2.6.1: 0 advertises infinite credits).
    func credits(_ target: inout Int?) -> Bool {
        if self == "inf" || self == "infinite" || self == "0" { target = 0; return true }
        guard let v = Int(self), v > 0, v < 1 << 20 else { return false }
        target = v
        return true
    }
}
