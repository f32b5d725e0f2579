// The rules that changed between kernel releases, as one table: which release introduced (or removed) each,
// the upstream commit, and the kernel file. The semantics asks `KernelRules.has(_:_:)`; it never compares
// versions itself.

/// A version-dependent rule of the semantics layer. Each case is one row of `KernelRules.table`.
public enum KernelRule: String, Sendable, Hashable, CaseIterable {
    /// `pci_acs_init` calls `pci_enable_acs` only when the device has an ACS capability, so the device-specific
    /// enable (`pci_dev_specific_enable_acs`) never runs for one without, so the Intel PCH root-port quirk never runs (those ports have none) and
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
    /// `cpu_supports_p2pdma`: an AMD CPU of family 0x17 (Zen) or later allows every host-bridge path, and the
    /// AMD Zen host bridge entries leave the whitelist.
    case cpuSupportsP2PDMA = "p2pdma-amd-zen-cpu"
    /// The whitelist holds AMD Zen host bridge `1022:1450` (before the CPU rule replaced it).
    case whitelistAMDZenHostBridge = "whitelist-amd-1450"
    /// Intel Xeon E5/E7 (v1-v3) host bridges `3c00 3c01 2f00 2f01`, same host bridge only.
    case whitelistIntelXeonE5 = "whitelist-intel-xeon-e5"
    /// Intel Sky Lake-E `2030-2033` root ports and `2020`; the host bridge device may be a root port at any devfn.
    case whitelistSkylakeE = "whitelist-intel-skylake-e"
    /// Intel Ice Lake-SP and later Xeon `09a2`.
    case whitelistIceLakeXeon = "whitelist-intel-09a2"
    /// Intel DSA/IAX/IAA and QAT devices.
    case whitelistIntelAccelerators = "whitelist-intel-dsa-qat"
    /// Google SoCs (`1ae0`, any device).
    case whitelistGoogle = "whitelist-google"
    /// NVIDIA CPUs `10de:2f95-2f98`.
    case whitelistNVIDIA = "whitelist-nvidia-cpu"
    /// Zhaoxin `1d17:1003-1008`.
    case whitelistZhaoxin = "whitelist-zhaoxin"
    /// "Host bridge not in P2PDMA whitelist: vvvv:dddd" is printed (when an ACS redirect was found).
    case hostBridgeWhitelistWarning = "p2pdma-whitelist-warning"
    /// `pci_enable_acs` runs from `pci_dma_configure` (the IOMMU probe path) instead of `pci_acs_init`, so on
    /// OF platforms the first device (a root port) gets ACS too. Not modelled: the model has no device-tree
    /// platforms, and on ACPI machines the order does not change the result.
    case acsEnableAtDMAConfigure = "acs-enable-dma-configure"
    /// P2P pages go through `dma_map_sg`/`dma_map_sgtable` (bus address for BUS_ADDR, -EREMOTEIO for a pair
    /// that cannot), and `pci_p2pdma_map_sg_attrs` (entry count, or 0 on failure) is gone. Not modelled per
    /// version: the mapping API models this convention for every version.
    case p2pdmaInDMAMapSG = "p2pdma-dma-map-sg"
    /// `pci_p2pdma_map_type(provider, dev)` is exported and keyed by `struct p2pdma_provider` (the mapping
    /// API's `pciP2PDMAMapType`); before, it was static and took the page's `dev_pagemap`. Not modelled per
    /// version.
    case p2pdmaProviderMapType = "p2pdma-provider-map-type"
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
    /// The upstream releases (`v5.9`, `v5.10`) where it came and went, where they differ from the modelled
    /// versions (`introduced` is the first modelled version that has it).
    public var upstream: String
    /// Whether the semantics acts on it (false: recorded for the history, with the reason in `summary`).
    public var modelled: Bool

    public init(_ rule: KernelRule, _ summary: String, introduced: KernelVersion?, removed: KernelVersion? = nil,
                backports: [KernelVersion: String] = [:], commits: [String], file: String, upstream: String,
                modelled: Bool = true) {
        self.rule = rule
        self.summary = summary
        self.introduced = introduced
        self.removed = removed
        self.backports = backports
        self.commits = commits
        self.file = file
        self.upstream = upstream
        self.modelled = modelled
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
                       "pci_acs_init calls pci_enable_acs only for a device with an ACS capability: the Intel PCH root-port enable quirk does not run, those ports are not isolated and their devices share an IOMMU group",
                       introduced: .linux59, removed: .linux510,
                       commits: ["52fbf5bdeeef PCI: Cache ACS capability offset in device",
                                 "462b58fb0339 PCI: Always enable ACS even if no ACS Capability (stable 5.9.9)"],
                       file: "drivers/pci/pci.c", upstream: "v5.9, fixed in v5.10 (stable 5.9.9); 47c8846a49ba did it again in v6.11, fixed by f3c3ccc4fe49 in v6.12 (stable 6.11.7)"),
        KernelRuleInfo(.configACS,
                       "pci=config_acs= exists; disable_acs_redir goes through __pci_config_acs (\"Configured ACS to\"), not pci_disable_acs_redir (\"disabled ACS redirect\")",
                       introduced: .linux611,
                       commits: ["47c8846a49ba PCI: Extend ACS configurability"],
                       file: "drivers/pci/pci.c", upstream: "v6.11"),
        KernelRuleInfo(.acsConfigFromFirmwareControl,
                       "__pci_config_acs starts from the control firmware left: ctrl = (fw_ctrl & ~mask) | (flags & mask)",
                       introduced: .linux615, backports: [.linux612: "6.12.23"],
                       commits: ["9cf8a952d57b PCI/ACS: Fix 'pci=config_acs=' parameter (stable 6.12.23, 6.13.11)"],
                       file: "drivers/pci/pci.c", upstream: "v6.15"),
        KernelRuleInfo(.noATSTranslationBlocking,
                       "pci=noats also sets ACS TB (pci_std_enable_acs and the Intel SPT root-port enable quirk)",
                       introduced: .linux515,
                       commits: ["7cae7849fcce PCI/ACS: Enforce pci=noats with Transaction Blocking"],
                       file: "drivers/pci/pci.c, drivers/pci/quirks.c", upstream: "v5.15"),
        KernelRuleInfo(.acsEnableAtDMAConfigure,
                       "pci_enable_acs runs from pci_dma_configure (the IOMMU probe path), after of_iommu_configure has requested ACS; not modelled (no device-tree platforms in the model; on ACPI machines ACS was requested before enumeration anyway)",
                       introduced: .mainline,
                       commits: ["c41e2fb67e26 PCI: Enable ACS after configuring IOMMU for OF platforms"],
                       file: "drivers/pci/pci-driver.c, drivers/pci/pci.c",
                       upstream: "v7.0 (stable backports to 6.19-5.10 were reverted: 6.12.83, 6.6.135, 6.1.169)", modelled: false),
        KernelRuleInfo(.p2pdmaInDMAMapSG,
                       "dma_map_sg/dma_map_sgtable map P2PDMA pages themselves (bus address for BUS_ADDR, an IOVA for THRU_HOST_BRIDGE, -EREMOTEIO for NOT_SUPPORTED); before, drivers called pci_p2pdma_map_sg_attrs, which returned the entry count or 0. Not modelled per version: the mapping API follows the newer convention for every version",
                       introduced: .linux61,
                       commits: ["30280eee2db1 iommu/dma: support PCI P2PDMA pages in dma-iommu map_sg",
                                 "0d06132fc84b PCI/P2PDMA: Remove pci_p2pdma_[un]map_sg()"],
                       file: "drivers/pci/p2pdma.c, drivers/iommu/dma-iommu.c, kernel/dma/direct.c",
                       upstream: "v6.0 (not in Debian's 6.1 source any more)", modelled: false),
        KernelRuleInfo(.p2pdmaProviderMapType,
                       "pci_p2pdma_map_type(provider, dev) is exported and keyed by struct p2pdma_provider; in 6.1 and 6.12 it is static and takes the page's dev_pagemap (pci_p2pdma_map_segment is the caller). Not modelled per version",
                       introduced: .mainline,
                       commits: ["(the p2pdma_provider series; commit not retrieved)"],
                       file: "drivers/pci/p2pdma.c, include/linux/pci-p2pdma.h", upstream: "after v6.12", modelled: false),
        KernelRuleInfo(.cpuSupportsP2PDMA,
                       "cpu_supports_p2pdma: an AMD CPU of family 0x17 (Zen) or later allows P2P through any host bridge; before, only the whitelisted AMD Zen host bridge 1022:1450 did",
                       introduced: .linux59,
                       commits: ["dea286bb71ba PCI/P2PDMA: Allow P2PDMA on AMD Zen and newer CPUs"],
                       file: "drivers/pci/p2pdma.c", upstream: "v5.9"),
        KernelRuleInfo(.whitelistAMDZenHostBridge,
                       "host-bridge whitelist entry AMD Zen 1022:1450 (its 15d0/1630 siblings, 7d5b10fcb81e, came and went between modelled versions)",
                       introduced: nil, removed: .linux59,
                       commits: ["0f97da831026 PCI/P2PDMA: Allow P2P DMA between any devices under AMD ZEN Root Complex",
                                 "dea286bb71ba PCI/P2PDMA: Allow P2PDMA on AMD Zen and newer CPUs"],
                       file: "drivers/pci/p2pdma.c", upstream: "v5.2 to v5.8"),
        KernelRuleInfo(.whitelistIntelXeonE5,
                       "host-bridge whitelist entries Intel 3c00 3c01 2f00 2f01 (Xeon E5/E7 v1-v3), REQ_SAME_HOST_BRIDGE",
                       introduced: nil,
                       commits: ["494d63b0d5d0 PCI/P2PDMA: Whitelist some Intel host bridges"],
                       file: "drivers/pci/p2pdma.c", upstream: "v5.4 or earlier"),
        KernelRuleInfo(.whitelistSkylakeE,
                       "host-bridge whitelist entries Intel Sky Lake-E 2030-2033 and 2020, and the first root-bus device may be a root port at any devfn (not only 00.0)",
                       introduced: .linux59,
                       commits: ["bc123a515cb7 PCI/P2PDMA: Add Intel SkyLake-E to the whitelist",
                                 "7b94b53db34f PCI/P2PDMA: Add Intel Sky Lake-E Root Ports B, C, D to the whitelist"],
                       file: "drivers/pci/p2pdma.c", upstream: "v5.6/v5.7 (between 5.4 and 5.9)"),
        KernelRuleInfo(.hostBridgeWhitelistWarning,
                       "\"Host bridge not in P2PDMA whitelist: vvvv:dddd\" is printed on the host bridge when an ACS redirect sent the pair through it",
                       introduced: .linux515,
                       commits: ["cf201bfe8cdc PCI/P2PDMA: Warn if host bridge not in whitelist"],
                       file: "drivers/pci/p2pdma.c", upstream: "v5.14"),
        KernelRuleInfo(.whitelistIceLakeXeon,
                       "host-bridge whitelist entry Intel 09a2 (Ice Lake-SP and every later Xeon)",
                       introduced: .linux61,
                       commits: ["feaea1fe8b36 PCI/P2PDMA: Add Intel 3rd Gen Intel Xeon Scalable Processors to whitelist"],
                       file: "drivers/pci/p2pdma.c", upstream: "v5.18"),
        KernelRuleInfo(.whitelistGoogle,
                       "host-bridge whitelist entry Google 1ae0:any (with wildcard device IDs, 1a1f96e3e2a8)",
                       introduced: .mainline,
                       commits: ["70cf146a674c PCI/P2PDMA: Add Google SoCs to the P2P DMA host bridge list"],
                       file: "drivers/pci/p2pdma.c", upstream: "v7.1"),
        KernelRuleInfo(.whitelistIntelAccelerators,
                       "host-bridge whitelist entries Intel DSA/IAX/IAA and QAT devices",
                       introduced: .mainline,
                       commits: ["0ba76b19fd4c PCI/P2PDMA: Add Intel QAT, DSA, IAA devices to whitelist"],
                       file: "drivers/pci/p2pdma.c", upstream: "v7.2 (stable 7.1.y)"),
        KernelRuleInfo(.whitelistNVIDIA,
                       "host-bridge whitelist entries NVIDIA CPUs 10de:2f95-2f98 (not in Debian's 6.12.118; the release that added them was not retrieved, taken as after 6.18)",
                       introduced: .mainline,
                       commits: ["(commit not retrieved)"],
                       file: "drivers/pci/p2pdma.c", upstream: "after v6.12"),
        KernelRuleInfo(.whitelistZhaoxin,
                       "host-bridge whitelist entries Zhaoxin 1d17:1003-1007 (same host bridge) and 1008",
                       introduced: .mainline,
                       commits: ["f7c220404700 PCI/P2PDMA: Add Zhaoxin host bridges to allowlist"],
                       file: "drivers/pci/p2pdma.c", upstream: "v7.4 (after v7.3-rc1)"),
    ]

    /// The row of a rule.
    public static func info(_ rule: KernelRule) -> KernelRuleInfo {
        table[index[rule]!]
    }

    static let index: [KernelRule: Int] = Dictionary(uniqueKeysWithValues: table.enumerated().map { ($1.rule, $0) })

    /// Whether `version` has `rule`.
    public static func has(_ rule: KernelRule, _ version: KernelVersion) -> Bool {
        info(rule).applies(to: version)
    }

    /// The modelled rules on which two versions differ, in table order.
    public static func differences(_ a: KernelVersion, _ b: KernelVersion) -> [KernelRuleInfo] {
        table.filter { $0.modelled && $0.applies(to: a) != $0.applies(to: b) }
    }
}

extension KernelVersion {
    /// Whether this version has `rule` (`KernelRules.table`).
    public func has(_ rule: KernelRule) -> Bool { KernelRules.has(rule, self) }
}

// MARK: - Which rules explain a difference

/// What a difference between two boots is about, for attributing it to rules.
public enum KernelRuleEffect: String, Sendable, Hashable, CaseIterable {
    case acsControl = "acs", groups = "group", p2p = "p2p", warnings = "warning", bootLog = "log"
}

extension KernelRule {
    /// What the rule can change.
    public var effects: Set<KernelRuleEffect> {
        switch self {
        case .acsQuirkNeedsCapability: [.groups, .bootLog]
        case .configACS, .acsConfigFromFirmwareControl, .noATSTranslationBlocking:
            [.acsControl, .groups, .p2p, .warnings, .bootLog]
        case .acsEnableAtDMAConfigure: [.acsControl, .groups]
        case .p2pdmaInDMAMapSG, .p2pdmaProviderMapType: []
        case .cpuSupportsP2PDMA, .whitelistAMDZenHostBridge, .whitelistIntelXeonE5, .whitelistSkylakeE, .whitelistIceLakeXeon,
             .whitelistIntelAccelerators, .whitelistGoogle, .whitelistNVIDIA, .whitelistZhaoxin:
            [.p2p, .warnings]
        case .hostBridgeWhitelistWarning: [.warnings]
        }
    }
}

extension KernelRules {
    /// The modelled rules on which `a` and `b` differ that can explain a difference of kind `effect` between
    /// them on this machine: the rule acts on it and the machine or the command line has what the rule reads
    /// (the host bridge IDs of a whitelist entry, an AMD Zen boot CPU, an Intel PCH root port, `pci=noats`, the
    /// ACS parameters).
    public static func explaining(_ effect: KernelRuleEffect, _ a: Semantics, _ b: Semantics) -> [KernelRuleInfo] {
        let va = a.loaded.topology.kernel.version, vb = b.loaded.topology.kernel.version
        return differences(va, vb).filter { $0.rule.effects.contains(effect) && (relevant($0.rule, a) || relevant($0.rule, b)) }
    }

    /// Whether the machine, as booted, has what `rule` reads.
    static func relevant(_ rule: KernelRule, _ s: Semantics) -> Bool {
        let nodes = s.nodes
        let p = s.parameters
        func hostBridgeListed(_ r: KernelRule) -> Bool {
            let ids = HostBridgeWhitelist.all.filter { $0.rule == r }
            return s.loaded.topology.rootComplexes.indices.contains { rc in
                guard let root = nodes.hostBridgeDevice(rootComplex: rc) else { return false }
                let id = nodes.id[root]
                return ids.contains { $0.vendor == id.vendor && ($0.device == nil || $0.device == id.device) }
            }
        }
        switch rule {
        case .acsQuirkNeedsCapability:
            return (0..<nodes.count).contains { ACSQuirkIDs.isIntelPCHRootPort(nodes, $0) }
        case .configACS, .acsConfigFromFirmwareControl:
            return p.disableACSRedirect != nil || p.configACS != nil
                || KernelCommandLine.arguments(s.loaded.topology.kernel.commandLine).contains { KernelCommandLine.parameq($0.param, "pci") && ($0.value ?? "").contains("config_acs=") }
        case .noATSTranslationBlocking:
            return p.atsDisabled
        case .acsEnableAtDMAConfigure, .p2pdmaInDMAMapSG, .p2pdmaProviderMapType:
            return false
        case .cpuSupportsP2PDMA:
            let cpu = s.loaded.topology.sockets.min { $0.id < $1.id }
            return cpu.map { $0.cpuVendor == .amd && $0.cpuFamily >= 0x17 } ?? false
        case .whitelistSkylakeE:
            // Its IDs, or a root complex whose first root-bus device is a root port away from 00.0.
            return hostBridgeListed(rule) || s.loaded.topology.rootComplexes.indices.contains { rc in
                guard let root = nodes.hostBridgeDevice(rootComplex: rc) else { return false }
                return nodes.bdf[root].devfn != 0
            }
        case .whitelistAMDZenHostBridge, .whitelistIntelXeonE5, .whitelistIceLakeXeon, .whitelistIntelAccelerators,
             .whitelistGoogle, .whitelistNVIDIA, .whitelistZhaoxin:
            return hostBridgeListed(rule)
        case .hostBridgeWhitelistWarning:
            return true
        }
    }
}
