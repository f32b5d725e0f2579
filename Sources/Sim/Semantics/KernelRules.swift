// The rules that changed between kernel releases, as one table: which release introduced (or removed) each,
// the upstream commit, and the kernel file. The semantics asks `KernelRules.has(_:_:)`; it never compares
// versions itself.

/// A version-dependent rule of the semantics layer. Each case is one row of `KernelRules.table`.
public enum KernelRule: String, Sendable, Hashable, CaseIterable {
    /// `pci_enable_acs` returns before the device-specific enable (`pci_dev_specific_enable_acs`) when the
    /// device has no ACS capability, so the Intel PCH root-port quirk never runs (those ports have none) and
    /// their devices merge into one IOMMU group.
    case acsQuirkNeedsCapability = "acs-quirk-needs-acs-cap"
    /// `pci=config_acs=` exists, and `disable_acs_redir` goes through the same `__pci_config_acs` (its
    /// "Configured ACS to" line; no warning for a device without ACS). Before: `pci_disable_acs_redir` clears
    /// RR/CR/EC from the control just enabled ("disabled ACS redirect").
    case configACS = "config-acs"
    /// `__pci_config_acs` computes `ctrl = (fw_ctrl & ~mask) | (flags & mask)` from the control firmware left.
    /// Without it (6.11 to 6.14): `ctrl = (ctrl & ~mask) | (fw_ctrl & mask); ctrl |= flags`.
    case acsConfigFromFirmwareControl = "acs-config-fw-ctrl"
    /// `pci=noats` also sets ACS Translation Blocking, in `pci_std_enable_acs` and in the Intel SPT PCH
    /// root-port enable quirk.
    case noATSTranslationBlocking = "noats-tb"
}

/// One row: the rule, what it does, when it came and went, and where.
public struct KernelRuleInfo: Sendable, Hashable {
    public var rule: KernelRule
    /// What the rule does, in a sentence.
    public var summary: String
    /// The first release that has it (nil: older than every release modelled).
    public var introduced: KernelVersion?
    /// The first release that no longer has it (nil: still in mainline).
    public var removed: KernelVersion?
    /// Older series that have it anyway through a stable backport, as shipped (`6.12` = 6.12.23 and later).
    public var backports: [KernelVersion: String]
    /// Upstream commits: the one that introduced it, then the one that removed it, as `id title`.
    public var commits: [String]
    /// The kernel file where it lives.
    public var file: String

    public init(_ rule: KernelRule, _ summary: String, introduced: KernelVersion?, removed: KernelVersion? = nil,
                backports: [KernelVersion: String] = [:], commits: [String], file: String) {
        self.rule = rule
        self.summary = summary
        self.introduced = introduced
        self.removed = removed
        self.backports = backports
        self.commits = commits
        self.file = file
    }

    /// Whether `version` has the rule.
    public func applies(to version: KernelVersion) -> Bool {
        if let removed, version >= removed { return false }
        if backports[version] != nil { return true }
        guard let introduced else { return true }
        return version >= introduced
    }

    /// The versions that have it, as `5.9`, `6.11+`, `6.12, 6.15+`.
    public var versions: String {
        let all = KernelVersion.allCases.filter { applies(to: $0) }
        guard let first = all.first else { return "none" }
        if all.count == KernelVersion.allCases.count { return "all" }
        // A contiguous tail is written `X+`; otherwise list them.
        let tailStart = KernelVersion.allCases.firstIndex(of: first)!
        if all == Array(KernelVersion.allCases[tailStart...]) { return first.rawValue + "+" }
        var listed: [String] = []
        var i = 0
        while i < all.count {
            let idx = KernelVersion.allCases.firstIndex(of: all[i])!
            if Array(KernelVersion.allCases[idx...]) == Array(all[i...]) {
                listed.append(all[i].rawValue + "+")
                break
            }
            listed.append(all[i].rawValue)
            i += 1
        }
        return listed.joined(separator: ", ")
    }
}

/// Each numbered `KernelVersion` is that series as its newest stable point release ships it (what a
/// distribution runs: Debian's 6.1.192 and 6.12.118), so a fix backported to the series counts; `5.9` is the
/// exception, modelled as released (5.9.0 to 5.9.8, before its fix reached 5.9.9).
public enum KernelRules {
    public static let table: [KernelRuleInfo] = [
        KernelRuleInfo(.acsQuirkNeedsCapability,
                       "pci_enable_acs returns before pci_dev_specific_enable_acs for a device without an ACS capability: the Intel PCH root-port quirk does not run, its ports are not isolated",
                       introduced: .linux59, removed: .linux510,
                       commits: ["52fbf5bdeeef PCI: Cache ACS capability offset in device",
                                 "462b58fb033a PCI: Always enable ACS even if no ACS Capability"],
                       file: "drivers/pci/pci.c"),
        KernelRuleInfo(.configACS,
                       "pci=config_acs= exists; disable_acs_redir goes through __pci_config_acs (\"Configured ACS to\"), not pci_disable_acs_redir (\"disabled ACS redirect\")",
                       introduced: .linux611,
                       commits: ["47c8846a49ba PCI: Extend ACS configurability"],
                       file: "drivers/pci/pci.c"),
        KernelRuleInfo(.acsConfigFromFirmwareControl,
                       "__pci_config_acs starts from the control firmware left: ctrl = (fw_ctrl & ~mask) | (flags & mask)",
                       introduced: .linux615, backports: [.linux612: "6.12.23"],
                       commits: ["9cf8a952d57b PCI/ACS: Fix 'pci=config_acs=' parameter (stable 6.12.23, 6.13.11)"],
                       file: "drivers/pci/pci.c"),
        KernelRuleInfo(.noATSTranslationBlocking,
                       "pci=noats also sets ACS TB (pci_std_enable_acs and the Intel SPT root-port enable quirk)",
                       introduced: .linux515,
                       commits: ["7cae7849fcce PCI/ACS: Enforce pci=noats with Transaction Blocking"],
                       file: "drivers/pci/pci.c, drivers/pci/quirks.c"),
    ]

    /// The row of a rule.
    public static func info(_ rule: KernelRule) -> KernelRuleInfo {
        table.first { $0.rule == rule }!
    }

    /// Whether `version` has `rule`.
    public static func has(_ rule: KernelRule, _ version: KernelVersion) -> Bool {
        info(rule).applies(to: version)
    }
}

extension KernelVersion {
    /// Whether this version has `rule` (`KernelRules.table`).
    public func has(_ rule: KernelRule) -> Bool { KernelRules.has(rule, self) }
}
