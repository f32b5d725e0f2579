// Per-CPU-platform defaults of the transport model: what a root complex does to peer-to-peer and DMA traffic and
// what peer-to-peer across sockets gets, as published measurements show it. Data, not code: one row per platform,
// each value with the measurement it was derived from (fidelity/derivation.tsv, recomputed by
// scripts/fidelity/derive.py; docs/FIDELITY.md explains each). A topology attribute or `<param>` always wins; a
// platform with no row, or a value a row leaves nil, has no cap (the links decide).

/// One CPU platform's defaults.
public struct PlatformDefault: Sendable, Hashable {
    /// The platform's name in fidelity/derivation.tsv (`platform.ID.rcP2PRateCap`).
    public var id: String
    /// Marketing name, for messages (`AMD EPYC 7002 (Rome)`).
    public var name: String
    public var vendor: CPUVendor
    /// x86 family as /proc/cpuinfo prints it.
    public var family: Int
    /// Models (inclusive ranges) this row covers.
    public var models: [ClosedRange<Int>]
    /// Payload rate cap on peer-to-peer traffic turned around in one root complex (`rc.p2pRateCap`); nil: none.
    public var rootComplexP2PRateCap: DataRate?
    /// Peer-to-peer payload rate across sockets per direction (the `<socket-link>` bandwidth when the file gives
    /// none): what GPU-to-GPU traffic measures over UPI/xGMI, not the link's datasheet rate.
    public var socketP2PBandwidth: DataRate?
    /// Host memory read latency at the root complex (`rc.memoryLatency`): from a read request's arrival to its
    /// completions leaving; nil: 500 ns.
    public var memoryLatency: Picoseconds? = nil
    /// VT-d page-walk latency per level of the platform's IOMMU units (`walk-latency`) under random access (the
    /// upper levels in the page-walk caches, the leaf from memory), with `PlatformDefaults.derivedVTdWalksInFlight`
    /// walks in flight; nil: the VT-d default (IOMMUUnit.defaultWalkLatency, 4 walks in flight).
    public var vtdWalkLatency: Picoseconds? = nil
    /// Where each value comes from: the derivation rows' ids and the sources.
    public var source: String

    public func covers(_ s: Socket) -> Bool {
        s.cpuVendor == vendor && s.cpuFamily == family && models.contains { $0.contains(s.cpuModel ?? -1) }
    }
}

public enum PlatformDefaults {
    /// `link.ackWidthExponent`, as scripts/fidelity/derive.py computes it (fidelity/derived-defaults.tsv).
    public static let derivedAckWidthExponent = 0.6
    /// `fabric.duplexShare`: a platform's shared fabric (the root complex's P2P forwarding, the socket link) carries
    /// 2 × share × its one-way rate in both directions together, as scripts/fidelity/derive.py computes it: the median
    /// over the machines that publish both a one-way and a bidirectional P2P figure through the same bottleneck.
    public static let derivedDuplexShare = 0.885
    /// VT-d page-walk latency per level (`walk-latency`) on a platform without a row that gives one, as
    /// scripts/fidelity/derive.py computes it (`iommu.vtd.walkLatency`; IOMMUUnit.defaultWalkLatency).
    public static let derivedVTdWalkLatency: Picoseconds = 52_600
    /// Translations a VT-d unit walks at once (`walks-in-flight`) on the platforms whose rows give a walk time, as
    /// scripts/fidelity/derive.py computes it (`iommu.vtd.walksInFlight`): pcie-bench's 64 B writes that always miss
    /// the IOTLB run at walks in flight / walk time, with each platform's walk time from its reads (Broadwell-EP
    /// 27.5, Haswell-EP 25.9: the median, rounded). Ivy Bridge-EP and Sandy Bridge-EP writes check it (26.2 and
    /// 27.7 implied).
    public static let derivedVTdWalksInFlight = 27

    /// The rows. Each value is what scripts/fidelity/derive.py computes from the fidelity/derivation.tsv rows named in
    /// `source` (fidelity/derived-defaults.tsv holds the same numbers; a test checks).
    public static let table: [PlatformDefault] = [
        PlatformDefault(
            id: "sandy-bridge-ep", name: "Intel Xeon E5 v1 (Sandy Bridge-EP)", vendor: .intel, family: 6, models: [0x2d...0x2d],
            rootComplexP2PRateCap: nil, socketP2PBandwidth: nil, memoryLatency: 546_000, vtdWalkLatency: 373_600,
            source: "memoryLatency: pb-snb-t620.lat-rd-64 (pcie-bench LAT_RD 64 B on an E5-2630, 560 ns, less the links); vtdWalkLatency: pb-snb-t620-iommu.rd-64-window-64M (8.474 Gb/s = 16.55 M/s: 2054 ns a read less 560 ns = 1494 ns over 4 levels)"),
        PlatformDefault(
            id: "ivy-bridge-ep", name: "Intel Xeon E5 v2 (Ivy Bridge-EP)", vendor: .intel, family: 6, models: [0x3e...0x3e],
            rootComplexP2PRateCap: nil, socketP2PBandwidth: nil, memoryLatency: 546_000, vtdWalkLatency: 338_200,
            source: "memoryLatency: pb-ivb-t620.lat-rd-64 (pcie-bench LAT_RD 64 B on an E5-2620 v2, 560 ns, less the links); vtdWalkLatency: pb-ivb-t620-iommu.rd-64-window-64M (9.101 Gb/s = 17.78 M/s: 1913 ns a read less 560 ns = 1353 ns over 4 levels)"),
        PlatformDefault(
            id: "haswell-ep", name: "Intel Xeon E5 v3 (Haswell-EP)", vendor: .intel, family: 6, models: [0x3f...0x3f],
            rootComplexP2PRateCap: DataRate(bytesPerSecond: 8.173e9), socketP2PBandwidth: nil, memoryLatency: 586_000, vtdWalkLatency: 292_300,
            source: "rcP2PRateCap: haswell-mi25.p2p-uni (2x MI25 through a Haswell root complex, 8.17 GB/s, ROCm/ROCmValidationSuite#427); memoryLatency: pb-hsw-x10srg.lat-rd-64 (pcie-bench LAT_RD 64 B on an E5-2637 v3, 600 ns, less the links); vtdWalkLatency: pb-hsw-x10srg-iommu.rd-64-window-64M (64 B reads that always miss the IOTLB, 9.840 Gb/s = 19.22 M/s: 34 reads in flight / 19.22 M/s = 1769 ns a read, less the 600 ns read without a walk = 1169 ns over 4 levels)"),
        PlatformDefault(
            id: "broadwell-ep", name: "Intel Xeon E5 v4 / Core i7 Broadwell-E", vendor: .intel, family: 6, models: [0x4f...0x4f],
            rootComplexP2PRateCap: DataRate(bytesPerSecond: 7.1e9), socketP2PBandwidth: nil, memoryLatency: 532_000, vtdWalkLatency: 315_200,
            source: "rcP2PRateCap: bdw-nvme-p40.nvme3-to-gpu (3x P4600 -> P40 through an E5-2650 v4 root complex saturating at 7.1 GB/s, NVIDIA developer forum t/55564); memoryLatency: pb-bdw-t430.lat-rd-64 (pcie-bench LAT_RD 64 B on an E5-2630 v4, 546 ns, less the links); vtdWalkLatency: pb-bdw-t430-iommu.rd-64-window-64M (9.635 Gb/s = 18.82 M/s: 1807 ns a read less 546 ns = 1261 ns over 4 levels)"),
        PlatformDefault(
            id: "naples", name: "AMD EPYC 7001 (Naples)", vendor: .amd, family: 0x17, models: [0x00...0x0f],
            rootComplexP2PRateCap: DataRate(bytesPerSecond: 7.056e9), socketP2PBandwidth: nil,
            source: "rcP2PRateCap: naples-mi25.p2p-uni (2x MI25 through an EPYC 7261, 7.056 GB/s, ROCm/ROCmValidationSuite#427)"),
        PlatformDefault(
            id: "rome", name: "AMD EPYC 7002 (Rome) / Threadripper PRO 3000", vendor: .amd, family: 0x17, models: [0x30...0x3f],
            rootComplexP2PRateCap: nil, socketP2PBandwidth: DataRate(bytesPerSecond: 22.825e9),
            source: "socketP2PBandwidth: rome-a40.p2p-bidir-xsocket (8x A40, 2x EPYC 7302: cross-socket bidirectional 40.4 GB/s = 2 x 0.885 x 22.825 per direction, NVIDIA/nccl-tests#74)"),
        PlatformDefault(
            id: "genoa", name: "AMD EPYC 9004 (Genoa)", vendor: .amd, family: 0x19, models: [0x10...0x1f],
            rootComplexP2PRateCap: nil, socketP2PBandwidth: DataRate(bytesPerSecond: 41.1e9),
            source: "socketP2PBandwidth: median of genoa-orangezed.p2p-uni-xsocket (~39 GB/s, 2x EPYC 9374F) and genoa-g493.p2p-uni-xsocket (43.2 GB/s, 2x EPYC 9124), voipmonitor/rtx6kpro"),
        PlatformDefault(
            id: "turin", name: "AMD EPYC 9005 (Turin)", vendor: .amd, family: 0x1a, models: [0x00...0x1f],
            rootComplexP2PRateCap: nil, socketP2PBandwidth: DataRate(bytesPerSecond: 53.3e9),
            source: "socketP2PBandwidth: median of turin-purplepow3r.p2p-uni-xsocket (50.97 GB/s, voipmonitor/rtx6kpro) and turin-aikitoria.p2p-uni-xsocket (55.63 GB/s, aikitoria/open-gpu-kernel-modules)"),
    ]

    /// The row for a socket's CPU, if any.
    public static func row(for socket: Socket?) -> PlatformDefault? {
        guard let socket else { return nil }
        return table.first { $0.covers(socket) }
    }
}

/// A rate in force and where it comes from, for `simrun route` and reports.
public struct SourcedRate: Sendable, Hashable {
    public var rate: DataRate
    /// `attribute`, `param`, or the platform row's name.
    public var origin: String
    /// Both directions together, when they share the resource (`2 × duplex share × rate`); nil: independent directions.
    public var bothWays: DataRate? = nil

    /// `rate` with the both-ways capacity a duplex share gives (a share of 1 or more: none).
    func sharing(_ share: Double?) -> SourcedRate {
        guard let share, share < 1 else { return self }
        var s = self
        s.bothWays = DataRate(bytesPerSecond: 2 * share * rate.bytesPerSecond)
        return s
    }

    /// For `simrun route`: "20 GB/s per direction, 35.4 GB/s both ways".
    public var text: String {
        "\(rate) per direction" + (bothWays.map { ", \($0) both directions together" } ?? "") + " (\(origin))"
    }
}

extension Topology {
    func socket(_ id: Int) -> Socket? { sockets.first { $0.id == id } }

    /// Peer-to-peer rate cap of root complex `r`: its `rc.p2pRateCap` param, its `p2p-rate-cap` attribute, or its
    /// socket's platform default. The transport model and `simrun route` both read this.
    public func rootComplexP2PRateCap(_ r: Int, parameters: TransportParameters? = nil) -> SourcedRate? {
        let rc = rootComplexes[r]
        let p = parameters ?? TransportParameters().applying(rc.parameters, element: rc.name).0
        if let v = p.p2pRateCap { return SourcedRate(rate: v, origin: "param rc.p2pRateCap").sharing(rc.p2pDuplexShare) }
        if let v = rc.p2pRateCap { return SourcedRate(rate: v, origin: "p2p-rate-cap attribute").sharing(rc.p2pDuplexShare) }
        if let row = PlatformDefaults.row(for: socket(rc.socket)), let v = row.rootComplexP2PRateCap {
            return SourcedRate(rate: v, origin: "default for \(row.name)")
                .sharing(rc.p2pDuplexShare ?? PlatformDefaults.derivedDuplexShare)
        }
        return nil
    }

    /// Host memory read latency at root complex `r`: `rc.memoryLatency`, the socket's `memory-latency`, the platform
    /// default, else 500 ns (the pcie-bench 64 B read latency on Gen3 x8, reference §3).
    public func memoryLatency(_ r: Int, parameters: TransportParameters? = nil) -> (latency: Picoseconds, origin: String) {
        let rc = rootComplexes[r]
        let p = parameters ?? TransportParameters().applying(rc.parameters, element: rc.name).0
        if let v = p.memoryLatency { return (v, "param rc.memoryLatency") }
        if let v = socket(rc.socket)?.memoryLatency { return (v, "memory-latency attribute") }
        if let row = PlatformDefaults.row(for: socket(rc.socket)), let v = row.memoryLatency { return (v, "default for \(row.name)") }
        return (500_000, "model default")
    }

    /// Aggregate DMA cap of root complex `r`: `rc.dmaCap`, then the `dma-cap` attribute.
    public func rootComplexDMACap(_ r: Int, parameters: TransportParameters? = nil) -> SourcedRate? {
        let rc = rootComplexes[r]
        let p = parameters ?? TransportParameters().applying(rc.parameters, element: rc.name).0
        if let v = p.dmaCap { return SourcedRate(rate: v, origin: "param rc.dmaCap") }
        if let v = rc.dmaCap { return SourcedRate(rate: v, origin: "dma-cap attribute") }
        return nil
    }

    /// Peer-to-peer bandwidth per direction of the socket link between `a` and `b`: its `bandwidth`, else the
    /// platform default of the sending socket's CPU; with the both-ways capacity its duplex share gives.
    public func socketLinkBandwidth(from a: Int, to b: Int) -> SourcedRate? {
        guard let link = socketLinks.first(where: { ($0.a, $0.b) == (a, b) || ($0.a, $0.b) == (b, a) }) else { return nil }
        if let v = link.bandwidth { return SourcedRate(rate: v, origin: "bandwidth attribute").sharing(link.duplexShare) }
        if let row = PlatformDefaults.row(for: socket(a)), let v = row.socketP2PBandwidth {
            return SourcedRate(rate: v, origin: "default for \(row.name)")
                .sharing(link.duplexShare ?? PlatformDefaults.derivedDuplexShare)
        }
        return nil
    }
}

extension Topology {
    /// The page walk of IOMMU unit `u`: latency per level and walks in flight from the file, else the CPU platform
    /// of a socket whose root complex the unit serves (its row's walk time, 27 walks in flight), else the kind's
    /// default (4 walks in flight). A `walks-in-flight` attribute wins in every case.
    public func iommuWalk(_ u: IOMMUUnit) -> (latencyPerLevel: Picoseconds, walkers: Int, origin: String) {
        if let v = u.walkLatencyPerLevel { return (v, u.walksInFlight ?? IOMMUUnit.defaultWalksInFlight, "walk-latency attribute") }
        if u.kind == .vtd {
            for rc in rootComplexes where rc.iommu == u.name {
                if let row = PlatformDefaults.row(for: socket(rc.socket)), let v = row.vtdWalkLatency {
                    return (v, u.walksInFlight ?? PlatformDefaults.derivedVTdWalksInFlight, "default for \(row.name)")
                }
            }
        }
        return (IOMMUUnit.defaultWalkLatency(u.kind), u.walksInFlight ?? IOMMUUnit.defaultWalksInFlight, "model default")
    }
}
