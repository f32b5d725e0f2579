// Choices for the Linux semantics layer where kernels (or proposals) differ.

/// Options of `Semantics`. The defaults reproduce newest mainline (the `cd2698d7` PCI tree of the reference).
public struct SemanticsOptions: Sendable, Hashable {
    /// Which p2pdma branch's host-bridge rules to follow.
    public enum P2PDMABranch: String, Sendable, Hashable, CaseIterable {
        /// PCI tree at `cd2698d7`: the whitelist miss is logged only when an ACS redirect was found
        /// (`host_bridge_whitelist(P, C, acs_redirects)`).
        case mainline
        /// The PCI `p2pdma` branch after the snapshot: the whitelist miss is logged whenever the query is
        /// verbose ("Gate the host bridge whitelist warning on verbose", `b9964341`), and Intel `8086:0c08`
        /// is whitelisted with `REQ_SAME_HOST_BRIDGE` (`0b9df403`). Reference §0, §1.3.
        case p2pdmaNext = "p2pdma-next"
    }

    /// How the ACS part of `calc_map_type_and_dist` is evaluated.
    public enum P2PDMAAlgorithm: String, Sendable, Hashable, CaseIterable {
        /// Mainline: any RR, CR or EC bit on any device of either walk counts as a redirect (reference §1.3).
        case mainline
        /// Leon Romanovsky's proposed rework (not merged): ACS is read only at the two divergence ports,
        /// per TLP class, honouring TB and DT (reference §5, "Proposed divergence-based algorithm").
        case divergencePorts = "divergence-ports"
    }

    /// The TLP class the divergence-port algorithm evaluates (ignored by the mainline algorithm).
    public enum TLPClass: String, Sendable, Hashable, CaseIterable {
        /// Untranslated requests (AT=00b): what mainline assumes for all traffic.
        case untranslated
        /// ATS-translated requests (AT=10b).
        case translated
    }

    public var p2pdmaBranch: P2PDMABranch
    public var p2pdmaAlgorithm: P2PDMAAlgorithm
    /// Divergence-port algorithm only: which requests are checked.
    public var tlpClass: TLPClass
    /// Divergence-port algorithm only: read completions carry Relaxed Ordering, so CR does not redirect them.
    public var relaxedOrderingCompletions: Bool
    /// Honour the out-of-tree `pcie_acs_override=` patch (lf-edge/eve#790, truenas/linux#170; reference §7).
    /// Mainline ignores the parameter.
    public var acsOverridePatch: Bool
    /// Kernel command line and version to boot with; nil uses the topology's `<kernel>` element.
    public var kernel: KernelConfiguration?

    public init(p2pdmaBranch: P2PDMABranch = .mainline, p2pdmaAlgorithm: P2PDMAAlgorithm = .mainline,
                tlpClass: TLPClass = .untranslated, relaxedOrderingCompletions: Bool = false,
                acsOverridePatch: Bool = false, kernel: KernelConfiguration? = nil) {
        self.p2pdmaBranch = p2pdmaBranch
        self.p2pdmaAlgorithm = p2pdmaAlgorithm
        self.tlpClass = tlpClass
        self.relaxedOrderingCompletions = relaxedOrderingCompletions
        self.acsOverridePatch = acsOverridePatch
        self.kernel = kernel
    }
}

/// One line of the simulated kernel log, with its printk level.
public struct KernelLogEntry: Hashable, Sendable, CustomStringConvertible {
    public enum Level: Int, Sendable, Hashable, Comparable {
        case debug = 7, info = 6, warning = 4, error = 3
        public static func < (a: Level, b: Level) -> Bool { a.rawValue > b.rawValue }
    }
    public var level: Level
    /// The line as dmesg prints it, without timestamp: `pci 0000:02:00.0: Configured ACS to 0x0000`.
    public var text: String
    public init(_ level: Level, _ text: String) {
        self.level = level
        self.text = text
    }
    public var description: String { text }
}
