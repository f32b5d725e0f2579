// The report of a run: one value built from the workload's results, rendered as terminal text, JSON, Markdown
// and HTML (docs/REPORTS.md). Nothing in it depends on wall time or the machine, so reports are reproducible.
import Sim

public struct RunReport: Sendable {
    /// Version of report.json's schema (docs/REPORTS.md).
    public static let schema = "pciesim-report/1"

    public struct Flow: Sendable {
        public var phase: String
        public var phaseKind: String
        public var label: String
        public var requester: String
        public var requesterBDF: String
        public var target: String
        /// The peer device of a P2P flow (nil for host memory).
        public var peer: String?
        public var operation: String
        public var bytes: Int
        public var delivered: Int
        /// Steady-state GB/s (first to last delivery); 0 when nothing arrived.
        public var gigabytesPerSecond: Double
        public var latencyP50ns: Double?
        public var latencyP99ns: Double?
        public var latencyMaxns: Double?
        /// `BUS_ADDR`, `THRU_HOST_BRIDGE`, `NOT_SUPPORTED` for P2P flows.
        public var mapType: String?
        public var pathClass: String?
        /// `ok`, `blocked` (some TLPs stopped), `refused` (the mapping call failed, no DMA issued), `incomplete`.
        public var status: String
        public var blockedTLPs: Int
        public var mappingCalls: [String]
        /// Latency histogram: (bucket lower bound in ns, count), non-empty buckets only.
        public var histogram: [(Double, Int)]
        /// ACS redirects the request met (BDFs).
        public var redirectedAt: [String]
        public var crossesRootComplex: Bool
        /// Mean latency (ns): per request for reads; per TLP for streamed writes, per DMA for writes with a transfer
        /// size (first TLP issued to last byte landed). nil when nothing was recorded.
        public var latencyMeanns: Double? = nil
        /// What limits the flow: the busiest shared resource on its path at (nearly) full use, or the mechanism
        /// (outstanding reads, DMA issue rate, queue depth); nil when nothing did (TransportResult.Flow.limitedBy).
        public var limitedBy: String? = nil
    }

    public struct Link: Sendable {
        public var name: String
        /// BDF of the function whose upstream link this is.
        public var function: String
        public var upstream: Bool
        public var generation: Int
        public var width: Int
        /// Highest utilization over the phases, with the phase.
        public var utilization: Double
        public var phase: String
        public var payloadGBps: Double
        public var creditStallFraction: Double
        public var maxQueueTLPs: Int
        /// `link` (a link direction) or `shared` (a rate server or page walkers: root-complex caps, socket links,
        /// switch-chip fabrics, peer write ingress, an IOMMU's walkers); shared ones have no function or gen/width.
        public var kind: String = "link"
        var genWidth: String { kind == "link" ? "Gen\(generation) x\(width)" : "-" }
    }

    /// Why a P2P transfer did not go straight: where it stopped or detoured, and what would change that.
    public struct Finding: Sendable, Hashable {
        /// `blocked` (TLPs stopped in the fabric), `refused` (the kernel refused the mapping), `redirected`
        /// (ACS sent it up through the root complex: it works, slower).
        public var kind: String
        public var requester: String
        public var target: String
        /// BDF and name of the port (or `root complex rc0`) that blocked or redirected it.
        public var port: String
        public var rule: String
        /// The lines Linux would log (dmesg), word for word where the kernel has them.
        public var linuxLog: [String]
        public var fix: String
        /// TLPs it affected, summed over its phases.
        public var tlps: Int
        /// The first phase it happened in (see ``phases``).
        public var phase: String
        /// The ACS bit that acted (`RR`, `CR`, `SV`, `TB`, `EC`, `UF`), as `simrun route` names it; nil for other rules.
        public var bit: String?
        /// The TLP kind it acted on (`MWr`, `MRd`, `CplD`); nil when no TLP was sent (a refused mapping).
        public var tlpKind: String?
        /// Every phase it happened in, in run order.
        public var phases: [String]

        public init(kind: String, requester: String, target: String, port: String, rule: String, linuxLog: [String], fix: String,
                    tlps: Int, phase: String, bit: String? = nil, tlpKind: String? = nil) {
            self.kind = kind
            self.requester = requester
            self.target = target
            self.port = port
            self.rule = rule
            self.linuxLog = linuxLog
            self.fix = fix
            self.tlps = tlps
            self.phase = phase
            self.bit = bit
            self.tlpKind = tlpKind
            phases = [phase]
        }

        /// `CR on CplD`, `EC on MWr`, or nil.
        public var actedOn: String? {
            switch (bit, tlpKind) {
            case let (b?, k?): "\(b) on \(k)"
            case let (nil, k?): k
            default: nil
            }
        }
    }

    public struct IOMMU: Sendable {
        public var name: String
        public var lookups: Int
        public var hits: Int
        public var walks: Int
        public var faults: Int
        /// TLPs blocked by an IOMMU fault at a root complex this unit serves (walk faults and mapping misses).
        public var faultedTLPs: Int = 0
        public var hitRate: Double { lookups == 0 ? 1 : Double(hits) / Double(lookups) }
    }

    /// acs-audit: one row per ordered endpoint pair.
    public struct AuditRow: Sendable {
        public var provider: String
        public var client: String
        public var mapType: String
        public var distance: Int
        public var pathClass: String
        /// What a write from client to provider's BAR does in the fabric.
        public var route: String
        public var port: String?
        public var fix: String?
        /// The map type with the fix applied (when the fix is a kernel parameter).
        public var mapTypeAfterFix: String?
        public var warnings: [String]
    }

    /// A scenario's own table (p2p matrix, iotlb sweep).
    public struct Table: Sendable {
        public var title: String
        public var columns: [String]
        public var rows: [[String]]
        /// HTML draws the numeric cells as a heatmap: `bandwidth` (blue, darker is faster) or `latency` (orange,
        /// darker is slower); nil: a plain table.
        public var heat: String? = nil
        public init(title: String, columns: [String], rows: [[String]], heat: String? = nil) {
            self.title = title
            self.columns = columns
            self.rows = rows
            self.heat = heat
        }
    }

    /// One PCI function as the Devices table lists it: name, BDF, vendor:device and its pci.ids name.
    public struct Device: Sendable {
        public var name: String
        public var bdf: String
        public var id: String
        public var kind: String
        public var pciName: String?
    }

    public var topologyName: String
    /// Phases with traffic the flow model answered (rates, no latency percentiles) and phases simulated TLP by TLP.
    public var flowModelPhases = 0
    public var tlpPhases = 0
    public var topologyFile: String
    public var scenario: String
    public var options: [(String, String)]
    public var seed: UInt64
    public var kernelCommandLine: String
    public var flows: [Flow]
    public var links: [Link]
    public var findings: [Finding]
    public var iommus: [IOMMU]
    public var audit: [AuditRow]
    /// acs-audit: the one kernel line that makes every pair that could map BUS_ADDR do so (`simrun fix`), checked by
    /// booting it; or why there is none. nil for other scenarios, or when no pair needs a change.
    public var machineFix: String?
    public var tables: [Table]
    public var bootLog: [String]
    /// Deterministic work done: events handled over all phases, simulated time summed.
    public var events: Int
    public var simulatedNanoseconds: Double
    /// The drawing of the topology (for HTML).
    public var tree: TopologyDrawing
    /// The GPU/NIC path-class matrix as `nvidia-smi topo -m` (and `simrun p2p --format topo-m`) prints it; nil
    /// with fewer than two GPUs and NICs (for HTML).
    public var topoMatrix: TopoMatrix?
    /// The device of each row of `topoMatrix` (GPU0 is `gpu3` when gpu3 has the lowest PCI address).
    public var topoMatrixDevices: [String] = []
    /// Every function but virtual ones, in BDF order, with pci.ids names (for HTML).
    public var devices: [Device] = []
    /// The pci.ids file that named the devices; nil when none was found (IDs only).
    public var pciIDsSource: String?
}
