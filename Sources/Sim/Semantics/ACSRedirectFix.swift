// One fix for the machine: the shortest kernel command-line change (or firmware change) that makes the required
// P2P pairs PCI_P2PDMA_MAP_BUS_ADDR while the required-isolated devices keep their IOMMU groups.

/// Solves for the ACS change a machine needs, and checks every candidate by booting it through ``Semantics``
/// (the same code that evaluates `--cmdline`): nothing about the kernel's parsing or ACS rules is assumed here.
///
/// * A pair (provider, client) needs ACS redirect (RR, CR, EC) off on every device `calc_map_type_and_dist`
///   lists; a pair whose walks share no upstream bridge goes through the host bridge whatever ACS says, so no
///   ACS change makes it BUS_ADDR.
/// * An isolated device keeps its IOMMU group when, after the change, its group has exactly the members it had
///   before (VFIO hands a whole group to one owner). Linux's group rules read the same RR and CR bits
///   (`pci_acs_path_enabled` with `SV|RR|CR|UF`), so a port that a required pair needs open and that an isolated
///   device's group depends on is a conflict no command line resolves.
/// * Candidates, shortest first: `pci=disable_acs_redir=` naming devices by ID (`pci:vvvv:dddd`, which covers
///   every port of a switch model at once) where that hits no port an isolated device depends on, else by BDF;
///   `pci=config_acs=` with the same effect where the kernel has it (mainline); and the firmware change (RR, CR,
///   EC cleared in the ports' ACS control), which holds only when no IOMMU makes Linux enable ACS at boot.
public struct ACSRedirectFix: Sendable {
    /// An ordered pair as p2pdma sees it: the provider exposes memory, the client DMAs to it.
    public struct Pair: Hashable, Sendable {
        public var provider: Int
        public var client: Int
        public init(provider: Int, client: Int) {
            self.provider = provider
            self.client = client
        }
    }

    /// A required pair that needs ACS redirect off at a port whose setting a required-isolated device's group
    /// depends on.
    public struct Conflict: Hashable, Sendable {
        public var pair: Pair
        public var port: Int
        public var isolated: Int
        /// The BDFs the isolated device's group would gain.
        public var mergedWith: [BDF]
    }

    /// A command-line or firmware change, verified by booting it.
    public struct Candidate: Hashable, Sendable {
        public enum Kind: String, Hashable, Sendable { case disableACSRedirect = "disable_acs_redir", configACS = "config_acs", firmware }
        public var kind: Kind
        /// What to add: `pci=disable_acs_redir=pci:10b5:8747`, or for firmware `acs-ctrl` without RR CR EC on ports.
        public var change: String
        /// The whole command line to boot with (the machine's own line plus the change); nil for firmware.
        public var commandLine: String?
        /// Empty when every required pair is BUS_ADDR and every isolated device keeps its group; else why not.
        public var failures: [String]
        /// IOMMU groups that disappear into others when booted with it (the cost in isolation).
        public var groupsMerged: Int
        public var holds: Bool { failures.isEmpty }
    }

    public let required: [Pair]
    public let isolated: [Int]
    /// Required pairs no ACS change makes BUS_ADDR, with the map type they keep and why.
    public let unfixable: [(pair: Pair, reason: String)]
    /// Devices whose ACS redirect must go (union over the required pairs), in BDF order.
    public let ports: [Int]
    public let conflicts: [Conflict]
    /// The shortest verified command-line change first, then the other forms tried (verified or not).
    public let candidates: [Candidate]
    /// Candidate forms rejected before the final choice, with the reason (an ID match that hits an isolated
    /// device's port).
    public let rejected: [(change: String, reason: String)]
    public let before: Semantics
    /// The machine booted with the chosen line (nil when there is none).
    public let after: Semantics?

    /// The chosen change: the first candidate that holds.
    public var chosen: Candidate? { candidates.first { $0.holds && $0.kind != .firmware } }
    /// Pairs that are already BUS_ADDR before any change.
    public var alreadyDirect: Bool { ports.isEmpty && unfixable.isEmpty }

    /// The default pairs: every ordered pair of endpoints (physical functions, not host bridges) whose provider has
    /// a memory BAR and whose walks share an upstream bridge, so that no host bridge is needed once ACS redirect
    /// is off: the pairs p2pdma could map BUS_ADDR.
    public static func defaultPairs(_ semantics: Semantics, fabric: Fabric) -> [Pair] {
        let e = semantics.loaded.enumeration
        let eps = e.functions.indices.filter { f in
            let fn = e.functions[f]
            guard fn.kind == .endpoint, fn.physicalFunction == nil, let d = fn.device,
                  let ep = semantics.loaded.topology.devices[d].endpoint else { return false }
            return ep.endpointClass != .hostBridge
        }
        var out: [Pair] = []
        for p in eps where fabric.defaultTargetAddress(function: p) != nil {
            for c in eps where c != p && semantics.p2pdma(provider: p, client: c, verbose: false).commonUpstream != nil {
                out.append(Pair(provider: p, client: c))
            }
        }
        return out
    }

    /// Solves for `required` pairs and `isolated` devices on the machine `options` boots.
    public init(_ loaded: LoadedTopology, options: SemanticsOptions = SemanticsOptions(), required: [Pair], isolated: [Int]) {
        self.required = required
        self.isolated = isolated
        let base = Semantics(loaded, options: options)
        before = base
        let kernel = options.kernel ?? loaded.topology.kernel
        let e = loaded.enumeration

        var unfixable: [(Pair, String)] = []
        var needs: [Pair: [Int]] = [:]
        var portSet = Set<Int>()
        for pair in required {
            let r = base.p2pdma(provider: pair.provider, client: pair.client, verbose: false)
            if r.mapType == .busAddress { continue }
            if r.commonUpstream == nil || r.acsRedirectDevices.isEmpty {
                unfixable.append((pair, "\(r.mapType.kernelName): \(e.functions[pair.provider].name) and \(e.functions[pair.client].name) share no upstream bridge below the host bridge, so the traffic goes through the host bridge whatever ACS says"))
                continue
            }
            needs[pair] = r.acsRedirectDevices
            portSet.formUnion(r.acsRedirectDevices)
        }
        self.unfixable = unfixable
        let ports = portSet.sorted { e.functions[$0].bdf < e.functions[$1].bdf }
        self.ports = ports

        let groupsBefore = Self.groupMembers(base)
        let groupCount = base.iommuGroups().count
        func merged(_ s: Semantics) -> Int { max(0, groupCount - s.iommuGroups().count) }
        // Which devices an isolated device's group would gain if one port lost its redirect bits.
        func gained(_ s: Semantics, _ d: Int) -> [BDF] {
            let before = groupsBefore[d] ?? []
            let now = Self.groupMembers(s)[d] ?? []
            return now.filter { !before.contains($0) }.sorted()
        }
        func boot(_ change: String) -> (Semantics, String) {
            var k = kernel
            k.commandLine = String((k.commandLine + " " + change).trimmingSpaces)
            var o = options
            o.kernel = k
            return (Semantics(loaded, options: o), k.commandLine)
        }
        let existing = KernelParameters.parse(kernel, acsOverridePatch: options.acsOverridePatch).disableACSRedirect
        func disableLine(_ entries: [String]) -> String {
            "pci=disable_acs_redir=" + ((existing.map { [$0] } ?? []) + entries).joined(separator: ";")
        }
        func failures(_ s: Semantics) -> [String] {
            var out: [String] = []
            for pair in required where !unfixable.contains(where: { $0.0 == pair }) {
                let t = s.p2pdma(provider: pair.provider, client: pair.client, verbose: false).mapType
                if t != .busAddress {
                    out.append("\(e.functions[pair.client].name) -> \(e.functions[pair.provider].name) stays \(t.kernelName)")
                }
            }
            for d in isolated {
                let g = gained(s, d)
                if !g.isEmpty { out.append("\(e.functions[d].name)'s IOMMU group gains \(g.map(\.description).joined(separator: ", "))") }
            }
            return out
        }

        // Conflicts: each needed port alone, against each isolated device.
        var conflicts: [Conflict] = []
        if !isolated.isEmpty {
            for port in ports {
                let (s, _) = boot(disableLine([e.functions[port].bdf.description]))
                for d in isolated {
                    let g = gained(s, d)
                    guard !g.isEmpty else { continue }
                    for pair in required where needs[pair]?.contains(port) == true {
                        conflicts.append(Conflict(pair: pair, port: port, isolated: d, mergedWith: g))
                    }
                }
            }
        }
        self.conflicts = conflicts

        var candidates: [Candidate] = []
        var rejected: [(String, String)] = []
        var after: Semantics?
        if !ports.isEmpty, conflicts.isEmpty {
            // disable_acs_redir: per PCI ID, the ID form when it covers several ports (or is no longer than the one BDF)
            // and changes no isolated device's group; otherwise the BDFs.
            var ids: [PCIID] = []
            for p in ports where !ids.contains(e.functions[p].id) { ids.append(e.functions[p].id) }
            var entries: [[String]] = ids.map { id in ports.filter { e.functions[$0].id == id }.map { e.functions[$0].bdf.description } }
            for (i, id) in ids.enumerated() {
                let idForm = "pci:\(hex(id.vendor, 4)):\(hex(id.device, 4))"
                let bdfs = entries[i].joined(separator: ";")
                guard idForm.count <= bdfs.count || entries[i].count > 1 else { continue }
                var trial = entries
                trial[i] = [idForm]
                let (s, _) = boot(disableLine(trial.flatMap { $0 }))
                let isolationBroken = isolated.filter { !gained(s, $0).isEmpty }
                if isolationBroken.isEmpty {
                    entries = trial
                } else {
                    let hit = (s.functions(matching: idForm) ?? []).filter { !ports.contains($0) }
                    rejected.append((disableLine([idForm]),
                                     "it also matches \(hit.map { "\(e.functions[$0].bdf) \(e.functions[$0].name)" }.joined(separator: ", ")), and then the IOMMU group of \(isolationBroken.map { e.functions[$0].name }.joined(separator: ", ")) changes"))
                }
            }
            let line = disableLine(entries.flatMap { $0 })
            let (s, full) = boot(line)
            candidates.append(Candidate(kind: .disableACSRedirect, change: line, commandLine: full, failures: failures(s),
                                        groupsMerged: merged(s)))
            after = s
            // The BDFs alone: longer where an ID form was taken, but it touches only the ports the pairs need.
            let bdfLine = disableLine(ports.map { e.functions[$0].bdf.description })
            if bdfLine != line {
                let (bs, bfull) = boot(bdfLine)
                candidates.append(Candidate(kind: .disableACSRedirect, change: bdfLine, commandLine: bfull, failures: failures(bs),
                                            groupsMerged: merged(bs)))
            }
            // config_acs (6.11 and later): the same bits (EC, CR, RR written 0, the rest as firmware left them).
            if kernel.version.has(.configACS) {
                let cfg = "pci=config_acs=" + entries.flatMap { $0 }.map { "0x00xx@" + $0 }.joined(separator: ";")
                let (cs, cfull) = boot(cfg)
                candidates.append(Candidate(kind: .configACS, change: cfg, commandLine: cfull, failures: failures(cs),
                                            groupsMerged: merged(cs)))
            }
            // Firmware: RR, CR and EC cleared in the ports' ACS control.
            var t = loaded.topology
            for p in ports {
                guard let d = e.functions[p].device, t.devices[d].acs != nil else { continue }
                t.devices[d].acs!.control.subtract([.requestRedirect, .completionRedirect, .egressControl])
            }
            let change = "ACS control without RR CR EC on " + ports.map { "\(e.functions[$0].bdf) \(e.functions[$0].name)" }.joined(separator: ", ")
            if let reloaded = try? LoadedTopology(topology: t) {
                let fs = Semantics(reloaded, options: options)
                var f = failures(fs)
                if !f.isEmpty, base.acsRequested {
                    f.append("an active IOMMU makes Linux set RR and CR again at boot (pci_enable_acs)")
                }
                candidates.append(Candidate(kind: .firmware, change: change, commandLine: nil, failures: f, groupsMerged: merged(fs)))
            }
        }
        self.candidates = candidates.sorted { a, b in
            if a.holds != b.holds { return a.holds }
            if (a.kind == .firmware) != (b.kind == .firmware) { return b.kind == .firmware }
            return a.change.count < b.change.count
        }
        self.rejected = rejected
        self.after = self.candidates.first { $0.holds && $0.kind != .firmware }.flatMap { c in
            c.kind == .disableACSRedirect ? after : boot(c.change).0
        }
    }

    /// Per function: the BDFs of the other members of its IOMMU group (nil when it has no group).
    static func groupMembers(_ s: Semantics) -> [Int: Set<BDF>] {
        var out: [Int: Set<BDF>] = [:]
        for g in s.iommuGroups() {
            let all = Set(g.members.map(\.bdf))
            for m in g.members {
                if let f = m.function { out[f] = all.subtracting([m.bdf]) }
            }
        }
        return out
    }

    /// IOMMU groups that merge: each group after the change that holds members of more than one group before,
    /// as (the groups before, the group after).
    public var mergedGroups: [(before: [IOMMUGroup], after: IOMMUGroup)] {
        guard let after else { return [] }
        let old = before.iommuGroups()
        var groupOf: [BDF: Int] = [:]
        for (i, g) in old.enumerated() { for m in g.members { groupOf[m.bdf] = i } }
        var out: [(before: [IOMMUGroup], after: IOMMUGroup)] = []
        for g in after.iommuGroups() {
            var seen: [Int] = []
            for m in g.members { if let i = groupOf[m.bdf], !seen.contains(i) { seen.append(i) } }
            if seen.count > 1 { out.append((seen.sorted().map { old[$0] }, g)) }
        }
        return out
    }
}
