// Turns what an importer read (an `ImportedMachine`) into a `Topology` that validates and enumerates.
//
// The one place where imported facts become topology values: roles from the PCIe port type (or, when that
// is unknown, from the class code and the position in the tree), explicit bus, device, function numbers,
// BAR addresses and windows (so enumeration checks them instead of inventing them), names, and a record of
// every fact that had to be assumed (`import.assumption` and `import.unknown` parameters).

/// Choices an importer leaves to the user.
public struct ImportOptions: Sendable, Hashable {
    /// Which link state becomes the topology's trained link.
    public enum TrainedLink: String, Sendable, CaseIterable {
        /// LnkSta as read: a link below what both ends support is written as `trained-gen`/`trained-width`.
        /// GPUs lower their link speed when idle, so an idle machine shows slow links.
        case current
        /// LnkCap only: every link trains to the best both ends support (what NCCL and hwloc report).
        case capability
    }
    /// Topology name; nil chooses `imported-<format>`.
    public var name: String?
    public var trainedLink: TrainedLink
    /// The CPU, for sources that do not say (lspci) or to override what they say.
    public var cpu: ImportedCPU?
    /// pci.ids names, for lspci pasted without `-nn` (IDs read back from device names); nil: IDs stay unknown.
    public var pciNames: PCINames?
    public init(name: String? = nil, trainedLink: TrainedLink = .current, cpu: ImportedCPU? = nil, pciNames: PCINames? = nil) {
        self.name = name
        self.trainedLink = trainedLink
        self.cpu = cpu
        self.pciNames = pciNames
    }
}

/// An imported machine: the topology, where its facts came from, what was assumed, and the warnings.
public struct ImportResult: Sendable {
    public var topology: Topology
    public var enumeration: Enumeration
    public var format: String
    public var origin: String
    public var sources: [String]
    /// Machine-wide assumptions (per-device ones are `import.*` parameters on the device).
    public var assumptions: [String]
    public var warnings: [Diagnostic]
    /// PCI functions the source listed (virtual functions included).
    public var functionsRead: Int
    /// What came through and what did not.
    public var summary = ImportSummary()
}

/// Fact keys written in `import.unknown` parameters, with the default the topology then carries.
public enum ImportedFact: String, Sendable, CaseIterable {
    case id, classCode = "class", portType = "port-type", link, mps, mrrs, acs, bars, addresses, p2pmemBAR = "p2pmem-bar"

    /// What the topology says instead, for the one warning per missing fact.
    public var defaultText: String {
        switch self {
        case .id: "vendor:device unknown: written as ffff:ffff"
        case .classCode: "class code unknown: modeled as a generic endpoint or a PCI bridge by position"
        case .portType: "PCIe port type unknown: role inferred from the class code and the position in the tree"
        case .link: "link capability unknown: inherited from the port above (root ports: the root complex's Gen4 x16 default)"
        case .mps: "Max Payload Size Supported unknown: the model default 256 bytes applies"
        case .mrrs: "Max Read Request Size unknown: the model default 512 bytes applies"
        case .acs: "ACS unknown: written as no ACS capability (semantics treat the port as not isolating)"
        case .bars: "BARs unknown: none modeled"
        case .addresses: "BAR addresses unknown or unassigned: enumeration assigns this root complex's addresses"
        case .p2pmemBAR: "p2pmem BAR and offset not reported: the smallest BAR that holds it, offset 0"
        }
    }
}

public enum TopologyAssembler {
    /// Builds, checks and enumerates the topology; throws (exit 1) only when nothing usable remains.
    public static func assemble(_ machine: ImportedMachine, options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        var state = AssemblyState(machine: machine, options: options)
        state.build()
        return try state.finish()
    }

    /// `imported-lspci` style names: letters, digits, `_ . -`, starting with a letter.
    public static func sanitizedName(_ text: String, fallback: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "." || c == "-"
            out.unicodeScalars.append(ok ? c : "-")
        }
        while out.hasPrefix("-") || out.hasPrefix(".") { out.removeFirst() }
        if let f = out.unicodeScalars.first, !((f >= "a" && f <= "z") || (f >= "A" && f <= "Z") || f == "_") { out = "m" + out }
        if out.isEmpty { out = fallback }
        return String(out.prefix(64))
    }
}

struct AssemblyState {
    let machine: ImportedMachine
    let options: ImportOptions
    var bag: DiagnosticBag
    var topology: Topology
    var assumptions: [String]
    /// Function by BDF (virtual functions and duplicates left out).
    var functions: [BDF: ImportedFunction] = [:]
    var children: [BDF: [BDF]] = [:]
    var rootBus: [RootKey: [BDF]] = [:]
    var nameCounters: [String: Int] = [:]
    var usedNames = Set<String>()
    /// Names the source gives, kept free for their functions even when generated names come first.
    var reservedNames = Set<String>()
    /// Effective LnkCap per device index (own, else inherited), to decide what a trained link is below.
    var capability: [LinkCapability] = []
    /// Functions each fact is unknown for: one warning per fact.
    var unknown: [ImportedFact: [BDF]] = [:]
    /// VF BARs left out of root complexes with explicit addresses (restored when addresses are dropped).
    var droppedVFBars: [Int: [BAR]] = [:]
    /// Functions left out: BDF, reason, and where the input lists it.
    var dropped: [(BDF, String, ImportLocation)] = []
    /// Root complexes whose addresses were left to enumeration because some BARs had none.
    var addressesDropped: [String] = []
    /// Function-0 placeholders added because the input lacks them (PCI requires function 0).
    var placeholders: [BDF] = []
    /// Functions dropped as listed twice.
    var duplicates: [(BDF, ImportLocation)] = []
    /// Per-device notes that changed or guessed a fact, already reported as warnings (for the summary).
    var changedFunctions = Set<BDF>()

    struct RootKey: Hashable, Comparable {
        var segment: UInt16
        var bus: UInt8
        static func < (a: RootKey, b: RootKey) -> Bool { (a.segment, a.bus) < (b.segment, b.bus) }
    }

    init(machine: ImportedMachine, options: ImportOptions) {
        self.machine = machine
        self.options = options
        bag = DiagnosticBag(file: machine.origin)
        bag.append(contentsOf: machine.diagnostics)
        topology = Topology(name: TopologyAssembler.sanitizedName(options.name ?? "imported-\(machine.format)", fallback: "imported"))
        assumptions = machine.assumptions
        reservedNames = Set(machine.functions.compactMap(\.name))
    }

    // MARK: - Building

    mutating func build() {
        indexFunctions()
        var keys = Set(rootBus.keys)
        for hb in machine.hostBridges { keys.insert(RootKey(segment: hb.segment, bus: hb.bus)) }
        for key in keys.sorted() {
            let hb = machine.hostBridges.first { $0.segment == key.segment && $0.bus == key.bus }
            buildRootComplex(key, hb)
        }
        buildSwitchChips()
        buildSockets()
        topology.iommus = machine.iommus
        if machine.hasIOMMUGroups, machine.iommus.isEmpty {
            let kind: IOMMUKind?
            switch topology.sockets.first?.cpuVendor {
            case .intel: kind = .vtd
            case .amd: kind = .amdVi
            case .arm: kind = .smmuv3
            default: kind = nil
            }
            if let kind {
                topology.iommus = [IOMMUUnit(name: "iommu0", kind: kind, mode: .dma)]
                for r in topology.rootComplexes.indices { topology.rootComplexes[r].iommu = "iommu0" }
                assumptions.append("the input lists IOMMU groups but not the IOMMU units: one \(kind.rawValue) unit 'iommu0' (the CPU vendor's kind) in mode dma translates for every root complex")
            } else {
                note("the input lists IOMMU groups but the IOMMU kind is unknown (CPU vendor unknown): modeled without an IOMMU; give --cpu-vendor")
            }
        }
        if let k = machine.kernel { topology.kernel = k }
        reportDropped()
    }

    mutating func indexFunctions() {
        var vfCount = 0
        for f in machine.functions {
            if f.isVirtualFunction {
                vfCount += 1
                continue
            }
            if functions[f.bdf] != nil {
                warn(f, "function \(f.bdf) is listed twice; the first listing is used")
                duplicates.append((f.bdf, location(f)))
                continue
            }
            functions[f.bdf] = f
        }
        if vfCount > 0 {
            assumptions.append("\(vfCount) SR-IOV virtual functions are not listed as devices: they follow from their PF's <sriov> (offset, stride, num-vfs)")
        }
        // A device whose function 0 the input lacks (a pasted subset): its lowest function stands in for it.
        var lowest: [BDF: BDF] = [:]
        for bdf in functions.keys {
            let device = BDF(segment: bdf.segment, bus: bdf.bus, device: bdf.device, function: 0)
            if lowest[device].map({ bdf < $0 }) ?? true { lowest[device] = bdf }
        }
        for (device, first) in lowest.sorted(by: { $0.key < $1.key }) where first != device {
            addPlaceholder(device, beside: first)
        }
        for bdf in functions.keys.sorted() {
            let f = functions[bdf]!
            if let p = f.parent {
                if functions[p] != nil {
                    children[p, default: []].append(bdf)
                } else {
                    dropped.append((bdf, "its upstream bridge \(p) is not in the input", location(f)))
                }
            } else {
                rootBus[RootKey(segment: bdf.segment, bus: bdf.bus), default: []].append(bdf)
            }
        }
    }

    /// PCI finds a device by its function 0, so a pasted subset without it (a root port 00:03.1 without the dummy
    /// host bridge 00:03.0, a second PF without the first) gets a placeholder there; the listed functions keep
    /// their numbers. The placeholder is a generic endpoint (conventional when its sibling is), nothing more.
    mutating func addPlaceholder(_ device: BDF, beside first: BDF) {
        guard let sibling = functions[first] else { return }
        var p = ImportedFunction(bdf: device, parent: sibling.parent, line: sibling.line)
        p.file = sibling.file
        p.isPlaceholder = true
        p.isPCIe = sibling.isPCIe
        p.acsKnown = true
        p.barsKnown = true
        p.assumptions.append("not in the input: a placeholder for function 0, which PCI requires for \(first) to be found; its real ID, class and capabilities are unknown")
        functions[device] = p
        placeholders.append(device)
        warn(sibling, "\(first): function 0 of its device (\(device)) is not in the input; a placeholder function 0 (ID ffff:ffff, generic endpoint) is added so \(first) keeps its number")
    }

    /// Every note that guessed, changed or dropped a fact of a function is a warning at the function's line.
    mutating func reportChanges(_ f: ImportedFunction, _ notes: [String]) {
        guard !notes.isEmpty else { return }
        changedFunctions.insert(f.bdf)
        for n in notes { warn(f, "\(f.bdf): \(n)") }
    }

    func subtreeSize(_ bdf: BDF) -> Int {
        (children[bdf] ?? []).reduce(0) { $0 + 1 + subtreeSize($1) }
    }

    mutating func drop(_ bdf: BDF, _ reason: String) {
        dropped.append((bdf, reason, location(functions[bdf])))
    }

    /// Where the input lists a function: its line, in the tree file when it came from a tree given apart.
    func location(_ f: ImportedFunction?) -> ImportLocation {
        ImportLocation(file: f?.file ?? machine.origin, line: f?.line)
    }

    /// A warning at a function's line, in the file that line is in (a warning about a function known only from
    /// a separate `lspci -tv` file names that file, not the `-vvv` one).
    mutating func warn(_ f: ImportedFunction?, _ text: String) {
        warn(at: location(f), text)
    }

    mutating func warn(at place: ImportLocation, _ text: String) {
        bag.append(contentsOf: [Diagnostic(file: place.file, line: place.line, severity: .warning, message: text)])
    }

    mutating func reportDropped() {
        for (bdf, reason, place) in dropped {
            let below = subtreeSize(bdf)
            let tail = below > 0 ? " (with the \(below) function\(below == 1 ? "" : "s") below it)" : ""
            warn(at: place, "\(bdf) left out\(tail): \(reason)")
        }
    }

    mutating func buildRootComplex(_ key: RootKey, _ hb: ImportedHostBridge?) {
        let r = topology.rootComplexes.count
        var rc = RootComplex(name: "pci\(hex(key.segment, 4))-\(hex(key.bus, 2))", segment: key.segment, rootBus: key.bus,
                             busLimit: hb?.busLimit)
        var list = rootBus[key] ?? []
        if let first = list.first, first.device == 0, first.function == 0, let f = functions[first], !f.isBridge,
           let c = f.classCode, c >> 8 == 0x0600, let id = f.id, !list.contains(where: { $0.device == 0 && $0.function != 0 }) {
            // The host bridge at 00.0 (the device Linux's p2pdma whitelist looks at) is an attribute of the root complex.
            rc.hostBridgeID = id
            reportChanges(f, f.assumptions)   // e.g. an ID read back from its name: it decides the p2pdma whitelist
            list.removeFirst()
        }
        topology.rootComplexes.append(rc)
        let firstDevice = topology.devices.count
        for bdf in list {
            guard let f = functions[bdf] else { continue }
            let kind: DeviceKind
            var notes: [String] = []
            if f.isBridge || children[bdf] != nil {
                if f.portType == .pcieToPCIBridge || f.isPCIe == false {
                    kind = .pciBridge
                } else {
                    kind = .rootPort
                    if let t = f.portType, t != .rootPort {
                        notes.append("reports \(t.lspciName) but sits on a root bus: modeled as a root port")
                    }
                }
            } else {
                kind = .endpoint
            }
            emit(bdf, kind: kind, parent: nil, rc: r, context: .rootBus, notes: notes)
        }
        // Root complex facts: socket, IOMMU, explicit addresses.
        let own = firstDevice..<topology.devices.count
        var members = own.compactMap { functionOf[$0].flatMap { functions[$0] } }
        if rc.hostBridgeID != nil, let hostBridge = functions[BDF(segment: key.segment, bus: key.bus, device: 0, function: 0)] {
            members.insert(hostBridge, at: 0)
        }
        if let s = hb?.socket ?? members.lazy.compactMap(\.numaNode).first(where: { $0 >= 0 }) {
            topology.rootComplexes[r].socket = s
        } else {
            socketUnknown = true
        }
        let unitNames = Set(machine.iommus.map(\.name))
        if let u = hb?.iommu ?? mostCommon(members.compactMap(\.iommuUnit)), unitNames.contains(u) {
            topology.rootComplexes[r].iommu = u
        }
        settleAddresses(rootComplex: r, devices: own)
    }

    var functionOf: [BDF?] = []
    var socketUnknown = false

    func mostCommon(_ names: [String]) -> String? {
        var counts: [String: Int] = [:]
        for n in names { counts[n, default: 0] += 1 }
        return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
    }

    enum Context { case rootBus, belowPort, switchBus, belowPCIBridge }

    /// Appends one device and, depth-first, what sits below it in the shapes the topology format allows.
    mutating func emit(_ bdf: BDF, kind: DeviceKind, parent: Int?, rc r: Int, context: Context, notes extraNotes: [String] = []) {
        guard let f = functions[bdf] else { return }
        var notes = extraNotes
        /// Facts written as read that the format says in another way (a trained link): notes, not losses.
        var kept: [String] = []
        var unknownHere: [ImportedFact] = []
        let conventional = context == .belowPCIBridge || (context == .rootBus && kind == .endpoint && f.isPCIe == false)
        var d = Device(name: name(for: f, kind: kind), kind: kind, parent: parent, rootComplex: r,
                       id: f.id ?? PCIID(vendor: 0xFFFF, device: 0xFFFF))
        if f.id == nil, f.reportsUnknownFacts { unknownHere.append(.id) }
        d.subsystemID = f.subsystemID
        if !f.isSynthetic {
            d.deviceNumber = f.bdf.device
            d.functionNumber = f.bdf.function
        }
        d.isPCIe = !conventional
        if kind == .endpoint {
            let cls = PCIClass.endpointClass(f.classCode)
            var info = EndpointInfo(endpointClass: cls == .hostBridge && context != .rootBus ? .generic : cls)
            info.supportsATS = f.supportsATS ?? false
            info.supportsPASID = f.supportsPASID ?? false
            if let t = f.tagBits, [5, 8, 10].contains(t) { info.dma = DMAEngine(tagBits: t) }
            d.endpoint = info
            if f.classCode == nil { unknownHere.append(.classCode) }
            if context == .rootBus, f.isPCIe == nil {
                notes.append("whether it is PCIe is unknown: modeled as a Root Complex Integrated Endpoint")
            }
        }
        if f.classCode != nil, kind != .endpoint || d.endpoint != nil {
            d.classCode = f.classCode
            if let c = f.classCode, c == Device(name: "", kind: d.kind, parent: nil, rootComplex: 0, id: d.id, endpoint: d.endpoint).effectiveClassCode {
                d.classCode = nil
            }
        }
        if kind == .switchUpstreamPort { d.switchInfo = SwitchInfo() }
        if f.portType == nil, !conventional, f.reportsUnknownFacts, kind != .endpoint || context != .rootBus {
            unknownHere.append(.portType)
        }

        // Link: LnkCap of this function's port; trained state below a downstream port.
        let parentCapability = parent.map { capability[$0] } ?? topology.rootComplexes[r].defaultLink
        let hasLink = !conventional && !(context == .rootBus && kind != .rootPort)
        if hasLink {
            if let g = f.maxLinkGeneration { d.linkGeneration = g }
            if let w = f.maxLinkWidth {
                if supportedLinkWidths.contains(w) { d.linkWidth = w } else { notes.append("LnkCap width x\(w) is not a PCIe width; inherited instead") }
            }
            if f.maxLinkGeneration == nil || f.maxLinkWidth == nil { unknownHere.append(.link) }
        }
        let mine = LinkCapability(generation: d.linkGeneration ?? parentCapability.generation, width: d.linkWidth ?? parentCapability.width)
        if hasLink, let p = parent, topology.devices[p].kind.isDownstreamPort {
            let best = LinkCapability(generation: min(mine.generation, parentCapability.generation), width: min(mine.width, parentCapability.width))
            if let g = f.linkGeneration {
                if g < best.generation {
                    if options.trainedLink == .current {
                        d.trainedGeneration = g
                        kept.append("link speed \(g.speedText) when imported (LnkSta) is below the \(best.generation.speedText) both ends support; idle GPUs slow their links: import with --trained-link capability to model the capability")
                    }
                } else if g > best.generation {
                    notes.append("LnkSta speed \(g.speedText) is above LnkCap (\(best.generation.speedText)); LnkCap used")
                }
            }
            if let w = f.linkWidth, supportedLinkWidths.contains(w) {
                if w < best.width {
                    if options.trainedLink == .current {
                        d.trainedWidth = w
                        kept.append("link trained to x\(w) (LnkSta), narrower than the x\(best.width) both ends support")
                    }
                } else if w > best.width {
                    notes.append("LnkSta width x\(w) is above LnkCap (x\(best.width)); LnkCap used")
                }
            }
        }
        if !conventional {
            if let m = f.maxPayloadSupported, [128, 256, 512, 1024, 2048, 4096].contains(m) { d.maxPayloadSupported = m } else if f.reportsUnknownFacts { unknownHere.append(.mps) }
            if let m = f.maxReadRequest, [128, 256, 512, 1024, 2048, 4096].contains(m) { d.maxReadRequest = m } else if f.reportsUnknownFacts { unknownHere.append(.mrrs) }
            if let rcb = f.readCompletionBoundary, rcb == 64 || rcb == 128 { d.readCompletionBoundary = rcb }
            if let mps = f.maxPayload {
                d.parameters.append(Parameter(name: "import.mps-programmed", value: String(mps)))
            }
        }
        if kind != .pciBridge, !conventional {
            if var acs = f.acs {
                let extra = acs.control.subtracting(acs.capability)
                if !extra.isEmpty {
                    notes.append("ACS control has \(extra.tokens) set without the capability: dropped")
                    acs.control = acs.control.intersection(acs.capability)
                }
                if !acs.capability.contains(.egressControl) { acs.egressVector = [] }
                acs.egressVector = acs.egressVector.filter { $0 < 256 }
                d.acs = acs
            } else if !f.acsKnown, f.reportsUnknownFacts {
                unknownHere.append(.acs)
            }
        }

        // BARs, windows, bus numbers.
        if !f.barsKnown, f.reportsUnknownFacts { unknownHere.append(.bars) }
        d.bars = bars(f.bars, isBridge: kind.isBridge, function: f, notes: &notes)
        if kind.isBridge {
            d.bridge = BridgeConfig(secondaryBus: f.secondaryBus, subordinateBus: f.subordinateBus,
                                    memoryWindow: window(f.memoryWindow), prefetchableWindow: window(f.prefetchableWindow))
        }
        if kind == .endpoint {
            if let p = f.p2pmem {
                let regions = p2pmem(p, bars: d.bars, notes: &notes, unknown: &unknownHere)
                d.endpoint?.p2pmem = regions
            }
            if let s = f.sriov, s.totalVFs > 0 {
                currentBDF = f.bdf
                let sriov = sriov(s, pf: d, notes: &notes)
                d.endpoint?.sriov = sriov
            }
        }

        // Parameters: what the source said that the model has no field for, then assumptions.
        d.parameters.append(contentsOf: f.parameters)
        // An endpoint's driver is the topology's `driver` (the p2pdma warnings name it); a port's stays a parameter.
        if let driver = f.driver, !driver.isEmpty {
            if d.endpoint != nil, driver.utf8.count <= 64, driver.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) {
                d.endpoint?.driver = driver
            } else {
                d.parameters.append(Parameter(name: "import.driver", value: driver))
            }
        }
        if let g = f.iommuGroup { d.parameters.append(Parameter(name: "import.iommu-group", value: String(g))) }
        // What the importer assumed for this function is a guess too; tree-only functions and placeholders were
        // already reported in one warning each.
        reportChanges(f, (f.isTreeOnly || f.isPlaceholder ? [] : f.assumptions) + notes)
        for n in f.assumptions + notes + kept { d.parameters.append(Parameter(name: "import.assumption", value: n)) }
        let keys = unknownHere.map(\.rawValue)
        if !keys.isEmpty { d.parameters.append(Parameter(name: "import.unknown", value: keys.joined(separator: " "))) }
        for fact in unknownHere { unknown[fact, default: []].append(f.bdf) }

        let index = topology.devices.count
        topology.devices.append(d)
        functionOf.append(f.bdf)
        capability.append(mine)
        emitChildren(of: f.bdf, index: index, kind: kind, rc: r)
    }

    /// Children in the shapes the format allows: one switch, one PCIe-to-PCI bridge or the functions of one
    /// device below a port; downstream ports inside a switch; conventional endpoints below a PCI bridge.
    mutating func emitChildren(of bdf: BDF, index: Int, kind: DeviceKind, rc r: Int) {
        let kids = children[bdf] ?? []
        guard !kids.isEmpty else { return }
        let functions = self.functions
        let children = self.children
        let isBridgeLike: (BDF) -> Bool = { functions[$0]?.isBridge == true || children[$0] != nil }
        switch kind {
        case .rootPort, .switchDownstreamPort:
            if let bridge = kids.first(where: isBridgeLike) {
                for k in kids where k != bridge {
                    drop(k, "a port leads to one device, and \(bridge) (a bridge) already sits below \(bdf); the format has no place for a second device or bridge there")
                }
                let f = functions[bridge]!
                let grandchildren = children[bridge] ?? []
                var notes: [String] = []
                let childKind: DeviceKind
                if f.portType == .pcieToPCIBridge || f.isPCIe == false {
                    childKind = .pciBridge
                } else if grandchildren.contains(where: isBridgeLike) {
                    childKind = .switchUpstreamPort
                    if let t = f.portType, t != .upstreamPort { notes.append("reports \(t.lspciName) but has ports below it: modeled as a switch upstream port") }
                } else {
                    childKind = .pciBridge
                    notes.append("a bridge with no downstream ports below it: modeled as a PCI bridge")
                }
                emit(bridge, kind: childKind, parent: index, rc: r, context: .belowPort, notes: notes)
            } else {
                for k in kids {
                    if k.device != 0 {
                        drop(k, "device number \(k.device) below a PCIe port (ARI functions beyond 7 are not modeled; only device 0 exists on a link)")
                        continue
                    }
                    emit(k, kind: .endpoint, parent: index, rc: r, context: .belowPort)
                }
            }
        case .switchUpstreamPort:
            var count = 0
            for k in kids {
                guard isBridgeLike(k) else {
                    drop(k, "an endpoint on a switch's internal bus (only downstream ports sit there in the format)")
                    continue
                }
                count += 1
                guard count <= 32 else {
                    drop(k, "more than 32 downstream ports in one switch")
                    continue
                }
                var notes: [String] = []
                if let t = functions[k]?.portType, t != .downstreamPort { notes.append("reports \(t.lspciName) inside a switch: modeled as a downstream port") }
                emit(k, kind: .switchDownstreamPort, parent: index, rc: r, context: .switchBus, notes: notes)
            }
        case .pciBridge:
            for k in kids {
                if isBridgeLike(k) {
                    drop(k, "a bridge below a PCIe-to-PCI bridge (conventional PCI bridges behind one are not modeled)")
                    continue
                }
                emit(k, kind: .endpoint, parent: index, rc: r, context: .belowPCIBridge)
            }
        case .endpoint:
            for k in kids { drop(k, "its parent \(bdf) is not a bridge") }
        }
    }

    mutating func name(for f: ImportedFunction, kind: DeviceKind) -> String {
        let b = f.bdf
        let tag = (b.segment == 0 ? "" : hex(b.segment, 4) + "-") + hex(b.bus, 2) + "-" + hex(b.device, 2) + "." + String(b.function)
        switch kind {
        case .rootPort: return "rp-" + tag
        case .switchUpstreamPort: return "sw-" + tag
        case .switchDownstreamPort: return "dp-" + tag
        case .pciBridge: return "bridge-" + tag
        case .endpoint:
            if let given = f.name, TopologyAssembler.sanitizedName(given, fallback: "") == given, !usedNames.contains(given),
               !given.hasPrefix("rp-"), !given.hasPrefix("sw-"), !given.hasPrefix("dp-"), !given.hasPrefix("bridge-"), !given.hasPrefix("pci") {
                usedNames.insert(given)
                return given
            }
            let prefix = PCIClass.namePrefix(f.classCode)
            var n = nameCounters[prefix, default: 0]
            while usedNames.contains(prefix + String(n)) || reservedNames.contains(prefix + String(n)) { n += 1 }
            nameCounters[prefix] = n + 1
            usedNames.insert(prefix + String(n))
            return prefix + String(n)
        }
    }

    func window(_ w: AddressRange?) -> AddressRange? {
        guard let w, w.end > w.start else { return nil }
        return w
    }

    mutating func bars(_ list: [ImportedBAR], isBridge: Bool, function f: ImportedFunction, notes: inout [String]) -> [BAR] {
        var out: [BAR] = []
        var used = Set<Int>()
        var skippedIO = false
        for b in list.sorted(by: { $0.index < $1.index }) {
            if b.isIO { skippedIO = true; continue }
            let registers = b.is64Bit ? [b.index, b.index + 1] : [b.index]
            guard b.index >= 0, b.index <= (b.is64Bit ? 4 : 5), registers.allSatisfy({ !used.contains($0) }) else {
                notes.append("BAR \(b.index) overlaps another BAR's registers or is out of range: left out")
                continue
            }
            guard b.size >= 16, b.size & (b.size - 1) == 0, b.is64Bit || b.size <= 1 << 31 else {
                notes.append("BAR \(b.index) size \(b.size) is not a power of two of at least 16 bytes: left out")
                continue
            }
            if isBridge, registers.contains(where: { $0 > 1 }) { continue }
            used.formUnion(registers)
            out.append(BAR(index: b.index, size: b.size, is64Bit: b.is64Bit, isPrefetchable: b.isPrefetchable,
                           address: b.address.flatMap { $0 == 0 ? nil : $0 }))
        }
        if skippedIO, !ioNoted {
            ioNoted = true
            assumptions.append("I/O-space BARs and windows are not modeled (PCIeSim models memory transactions only)")
        }
        return out
    }

    var ioNoted = false
    /// The function `sriov(_:pf:notes:)` is building for.
    var currentBDF: BDF?

    mutating func p2pmem(_ p: ImportedP2PMem, bars: [BAR], notes: inout [String], unknown: inout [ImportedFact]) -> [P2PMemRegion] {
        // sysfs does not say which BAR the driver registered: take the smallest one that holds it,
        // preferring 64-bit prefetchable BARs (an NVMe CMB or a GPU aperture).
        let candidates = bars.filter { $0.size >= p.size }.sorted {
            ($0.usesPrefetchableWindow ? 0 : 1, $0.size, $0.index) < ($1.usesPrefetchableWindow ? 0 : 1, $1.size, $1.index)
        }
        guard let bar = candidates.first, p.size > 0 else {
            notes.append("p2pmem of \(ByteSize.format(p.size)) fits no BAR: left out")
            return []
        }
        unknown.append(.p2pmemBAR)
        notes.append("p2pmem (\(ByteSize.format(p.size))) assumed in BAR \(bar.index) at offset 0")
        return [P2PMemRegion(bar: bar.index, size: p.size == bar.size ? 0 : p.size, offset: 0, isPublished: p.isPublished)]
    }

    mutating func sriov(_ s: ImportedSRIOV, pf: Device, notes: inout [String]) -> SRIOV {
        if s.offset == nil || s.stride == nil { notes.append("SR-IOV First VF Offset / VF Stride unknown: 1 and 1 assumed") }
        if s.vfDevice == nil { notes.append("VF device ID unknown: the PF's ID is used") }
        var vfBars: [BAR] = []
        var used = Set<Int>()
        for b in s.bars where !b.isIO && b.size >= 16 && b.size & (b.size - 1) == 0 && b.index <= (b.is64Bit ? 4 : 5) {
            let registers = b.is64Bit ? [b.index, b.index + 1] : [b.index]
            guard registers.allSatisfy({ !used.contains($0) }) else { continue }
            used.formUnion(registers)
            vfBars.append(BAR(index: b.index, size: b.size, is64Bit: b.is64Bit, isPrefetchable: b.isPrefetchable))
        }
        // Enabled VFs whose routing IDs fall on functions the input lists as physical functions cannot be written
        // (enumeration would find two functions there): the VFs are left out, and the input's cause named.
        var enabled = min(max(s.enabledVFs, 0), s.totalVFs, 0xFFFF)
        if enabled > 0, let pfBDF = currentBDF {
            // 16-bit fields of the SR-IOV capability: clamped so `offset + stride * k` cannot overflow.
            let offset = min(max(s.offset ?? 1, 1), 0xFFFF), stride = min(max(s.stride ?? 1, 1), 0xFFFF)
            let clash = (0..<enabled).lazy.map { Int(pfBDF.requesterID) + offset + stride * $0 }
                .filter { $0 <= 0xFFFF }.map { BDF(segment: pfBDF.segment, requesterID: UInt16($0)) }
                .first { self.functions[$0] != nil }
            if let clash {
                notes.append("its \(enabled) enabled VFs (First VF Offset \(offset)\(s.offset == nil ? ", assumed" : ""), stride \(stride)) would sit on \(clash), which the input lists as a function of its own: VFs left out")
                enabled = 0
            }
        }
        return SRIOV(totalVFs: s.totalVFs, enabledVFs: enabled,
                     vfID: PCIID(vendor: pf.id.vendor, device: s.vfDevice ?? pf.id.device),
                     firstVFOffset: max(s.offset ?? 1, 1), vfStride: max(s.stride ?? 1, 1), bars: vfBars)
    }

    /// Keeps the source's addresses when every BAR of the root complex has one; otherwise enumeration assigns
    /// them all (the format takes all addresses of a root complex or none).
    mutating func settleAddresses(rootComplex r: Int, devices: Range<Int>) {
        var withAddress = 0
        var without = 0
        for d in devices {
            let dev = topology.devices[d]
            for b in dev.bars { if b.address == nil { without += 1 } else { withAddress += 1 } }
            if dev.bridge.memoryWindow != nil || dev.bridge.prefetchableWindow != nil { withAddress += 1 }
        }
        if withAddress > 0, without > 0 {
            stripAddresses(devices)
            topology.rootComplexes[r].parameters.append(Parameter(name: "import.assumption", value: ImportedFact.addresses.defaultText))
            addressesDropped.append(topology.rootComplexes[r].name)
        } else if withAddress > 0 {
            // VF BARs have no address field in the format; with explicit addresses they would all sit at 0.
            for d in devices {
                guard let s = topology.devices[d].endpoint?.sriov, !s.bars.isEmpty, s.enabledVFs > 0 else { continue }
                droppedVFBars[d] = s.bars
                topology.devices[d].endpoint?.sriov?.bars = []
                topology.devices[d].parameters.append(Parameter(name: "import.assumption",
                    value: "VF BARs left out: the root complex keeps the machine's BAR addresses and the format has none for VF BARs"))
            }
        }
    }

    mutating func stripAddresses(_ devices: Range<Int>) {
        for d in devices {
            for k in topology.devices[d].bars.indices { topology.devices[d].bars[k].address = nil }
            topology.devices[d].bridge.memoryWindow = nil
            topology.devices[d].bridge.prefetchableWindow = nil
        }
    }

    /// Switch upstream ports sharing a Device Serial Number are virtual switches (partitions) of one physical chip
    /// (Broadcom PEX88000/PEX89000, Microchip Switchtec): each names it in its `chip` attribute. How the chip
    /// forwards between its partitions is not in config space, so the default (`partitioned`, as Linux sees it)
    /// is assumed and said.
    mutating func buildSwitchChips() {
        var bySerial: [UInt64: [Int]] = [:]
        for (i, d) in topology.devices.enumerated() where d.kind == .switchUpstreamPort {
            if let bdf = functionOf[i], let serial = functions[bdf]?.serialNumber { bySerial[serial, default: []].append(i) }
        }
        for (serial, ports) in bySerial.sorted(by: { $0.key < $1.key }) where ports.count > 1 {
            let name = "chip-" + hex(serial, 16)
            guard !topology.switchChips.contains(where: { $0.name == name }) else { continue }
            topology.switchChips.append(SwitchChip(name: name))
            for p in ports { topology.devices[p].switchInfo?.chip = name }
            let dsn = stride(from: 56, through: 0, by: -8).map { hex((serial >> UInt64($0)) & 0xFF, 2) }.joined(separator: "-")
            let bdfs = ports.compactMap { functionOf[$0]?.description }.joined(separator: ", ")
            warn(functionOf[ports[0]].flatMap { functions[$0] }, "switches \(bdfs) share Device Serial Number \(dsn): partitions of one chip '\(name)'; "
                 + "how the chip routes between them is not in lspci: routing=\"partitioned\" assumed (through the root complex, as Linux enumerates them; "
                 + "separate chips that ship one default serial, as two PEX 9797 in a Supermicro SYS-4028GR-TRT2 do, route the same way)")
            let text = "switch upstream ports sharing a Device Serial Number are partitions of one <switch-chip>; its routing between partitions is not in config space: partitioned assumed (set routing=\"fabric\" for a chip in fabric/synthetic mode)"
            if !assumptions.contains(text) { assumptions.append(text) }
        }
    }

    mutating func buildSockets() {
        var ids = Set(topology.rootComplexes.map(\.socket))
        ids.formUnion(machine.sockets.keys)
        if ids.isEmpty { ids.insert(0) }
        var cpuUnknown = false
        let fromHostBridges = options.cpu == nil && machine.cpu == nil && ids.contains { machine.sockets[$0] == nil }
            ? cpuFromHostBridges() : nil
        for id in ids.sorted() {
            let cpu = options.cpu ?? machine.sockets[id] ?? machine.cpu ?? fromHostBridges
            if cpu == nil { cpuUnknown = true }
            topology.sockets.append(Socket(id: id, cpuVendor: cpu?.vendor ?? .other, cpuFamily: cpu?.family ?? 0, cpuModel: cpu?.model))
        }
        if cpuUnknown {
            assumptions.append("CPU vendor unknown: written as cpu-vendor=\"other\" (Linux's p2pdma host-bridge rule then lets no pair through a host bridge unless whitelisted)")
            bag.warning(nil, "CPU vendor and family unknown: written as cpu-vendor=\"other\"")
        }
        if socketUnknown, topology.rootComplexes.count > 0 {
            assumptions.append("NUMA node of some root complexes unknown: placed on socket 0")
        }
        if ids.count > 1 {
            assumptions.append("inter-socket links are not imported: add <socket-link> elements for cross-socket traffic")
        }
    }

    /// The CPU the root complexes' host bridge IDs imply (lspci and trees name no CPU), with a warning at the
    /// first host bridge and an assumption; nil when they imply none or disagree.
    mutating func cpuFromHostBridges() -> ImportedCPU? {
        var found: [(rc: RootComplex, what: HostBridgeCPU.Inference)] = []
        for rc in topology.rootComplexes {
            if let id = rc.hostBridgeID, let what = HostBridgeCPU.infer(id) { found.append((rc, what)) }
        }
        guard let first = found.first else { return nil }
        let at = first.rc.rootBus.flatMap { functions[BDF(segment: first.rc.segment, bus: $0, device: 0, function: 0)] }
        let vendors = Set(found.map(\.what.vendor))
        guard vendors.count == 1 else {
            warn(at, "host bridges of more than one CPU vendor (\(vendors.map(\.rawValue).sorted().joined(separator: ", "))): CPU vendor not inferred")
            return nil
        }
        let families = found.map(\.what.minimumFamily)
        let family = families.contains(nil) ? nil : families.compactMap { $0 }.min()
        let ids = Set(found.compactMap(\.rc.hostBridgeID)).sorted { $0.description < $1.description }.map(\.description)
        let idText = ids.prefix(3).joined(separator: ", ") + (ids.count > 3 ? ", ..." : "")
        let familyText: String
        switch (first.what.vendor, family) {
        case (.amd, let f?):
            familyText = "cpu-family 0x\(hex(f, 2)), the lowest family \(first.what.source) is used with"
        case (.amd, nil):
            familyText = "family unknown (\(first.what.source)), written as 0: below 17h, so Linux's p2pdma AMD CPU rule does not apply"
        default:
            familyText = "family unknown, written as 0 (no rule here depends on an Intel CPU's family)"
        }
        let text = "CPU read from the host bridge ID (\(idText)): cpu-vendor \(first.what.vendor.rawValue), \(familyText); give --cpu-vendor and --cpu-family to set them"
        warn(at, text)
        assumptions.append(text)
        return ImportedCPU(vendor: first.what.vendor, family: family ?? 0)
    }

    // MARK: - Checking

    mutating func finish() throws(DiagnosticError) -> ImportResult {
        for fact in ImportedFact.allCases {
            let what: String
            if fact == .addresses {
                guard !addressesDropped.isEmpty else { continue }
                what = "root complex\(addressesDropped.count == 1 ? "" : "es") " + addressesDropped.joined(separator: ", ")
            } else {
                guard let bdfs = unknown[fact], !bdfs.isEmpty else { continue }
                let shown = bdfs.prefix(3).map(\.description).joined(separator: ", ") + (bdfs.count > 3 ? ", ..." : "")
                what = "\(bdfs.count) function\(bdfs.count == 1 ? "" : "s") (\(shown))"
            }
            // At the line of the first function concerned (sysfs functions have none).
            let known = functions
            let first = unknown[fact]?.lazy.compactMap { known[$0] }.first { $0.line != nil }
            warn(first, "\(fact.defaultText) for \(what)")
            assumptions.append("\(fact.defaultText) (\(what))")
        }
        if topology.devices.isEmpty && topology.rootComplexes.allSatisfy({ $0.hostBridgeID == nil }) {
            var errors = DiagnosticBag(file: machine.origin)
            errors.append(contentsOf: bag.diagnostics)
            errors.error(nil, "no PCI functions found in \(machine.format) input")
            throw DiagnosticError(errors.sorted)
        }
        topology.description = description()

        // Validate as the file will be read back (schema, checks, enumeration); relax pinned facts that do not
        // check out rather than fail: addresses first, then bus numbers, then device numbers.
        var firstErrors: [Diagnostic] = []
        for level in 0...3 {
            switch validate(topology) {
            case .success(let enumeration):
                let warnings = bag.sorted
                return ImportResult(topology: topology, enumeration: enumeration, format: machine.format, origin: machine.origin,
                                    sources: machine.sources, assumptions: assumptions, warnings: warnings,
                                    functionsRead: machine.functions.count, summary: summary(warnings: warnings))
            case .failure(let error):
                if firstErrors.isEmpty { firstErrors = error.errors }
                let reason = error.errors.first?.message ?? "it does not enumerate"
                switch level {
                case 0:
                    stripAddresses(topology.devices.indices)
                    for (d, bars) in droppedVFBars { topology.devices[d].endpoint?.sriov?.bars = bars }
                    note("the machine's BAR addresses and windows do not check out (\(reason)); enumeration assigns them")
                case 1:
                    for d in topology.devices.indices {
                        topology.devices[d].bridge.secondaryBus = nil
                        topology.devices[d].bridge.subordinateBus = nil
                    }
                    for r in topology.rootComplexes.indices { topology.rootComplexes[r].busLimit = nil }
                    note("the machine's bus numbers do not check out (\(reason)); enumeration assigns them")
                case 2:
                    for d in topology.devices.indices {
                        topology.devices[d].deviceNumber = nil
                        topology.devices[d].functionNumber = nil
                    }
                    note("the machine's device numbers do not check out (\(reason)); enumeration assigns them, so BDFs differ from the machine")
                default:
                    break
                }
                topology.description = description()
            }
        }
        var errors = DiagnosticBag(file: machine.origin)
        errors.append(contentsOf: bag.diagnostics)
        errors.error(nil, "the imported topology does not validate, so nothing is written; what in the input caused it:")
        errors.append(contentsOf: firstErrors.prefix(10).map(inputCause))
        throw DiagnosticError(errors.diagnostics)
    }

    /// What came through: functions read, placed, dropped (each with its reason), and how many facts were
    /// guessed or changed (issue #17: nothing silently lost).
    func summary(warnings: [Diagnostic]) -> ImportSummary {
        /// A file named in the summary only when it is not the import's own.
        func other(_ file: String) -> String? { file == machine.origin ? nil : file }
        var lost: [ImportSummary.Loss] = machine.leftOut.map { .init(bdf: $0.bdf, reason: $0.reason, line: $0.line) }
        lost += duplicates.map { .init(bdf: $0.0, reason: "listed twice", line: $0.1.line, file: other($0.1.file)) }
        for (bdf, reason, place) in dropped {
            lost.append(.init(bdf: bdf, reason: reason, line: place.line, file: other(place.file)))
            var stack = children[bdf] ?? []
            while let b = stack.popLast() {
                lost.append(.init(bdf: b, reason: "below \(bdf), which was left out", line: functions[b]?.line, file: functions[b]?.file))
                stack += children[b] ?? []
            }
        }
        // Functions an importer made up (NCCL leaves ports out) are neither read nor placed: counted apart.
        let synthetic = Set(machine.functions.filter(\.isSynthetic).map(\.bdf))
        lost.removeAll { synthetic.contains($0.bdf) }
        let read = machine.functions.count - synthetic.count + machine.leftOut.count
        let unknownFunctions = Set(unknown.values.joined())
        return ImportSummary(read: read, placed: read - lost.count, dropped: lost, synthesized: synthetic.count,
                             treeOnly: machine.functions.filter(\.isTreeOnly).count, placeholders: placeholders,
                             guessedOrChanged: changedFunctions.union(unknownFunctions).subtracting(placeholders).subtracting(synthetic).count,
                             warnings: warnings.count)
    }

    /// A validation error of the written topology, told in the input's terms: the functions whose generated names
    /// it mentions, with their BDF and line in the input.
    func inputCause(_ error: Diagnostic) -> Diagnostic {
        var causes: [(BDF, ImportLocation)] = []
        for (index, device) in topology.devices.enumerated() where error.message.contains("'\(device.name)'") {
            if index < functionOf.count, let bdf = functionOf[index] { causes.append((bdf, location(functions[bdf]))) }
        }
        guard let first = causes.first else {
            return Diagnostic(file: machine.origin, line: nil, severity: .note, message: error.message)
        }
        let named = causes.map { "\($0.0)\($0.1.text(origin: machine.origin).map { " (\($0))" } ?? "")" }.joined(separator: ", ")
        return Diagnostic(file: first.1.file, line: first.1.line, severity: .note, message: "\(named): \(error.message)")
    }

    mutating func note(_ text: String) {
        assumptions.append(text)
        bag.warning(nil, text)
    }

    func validate(_ t: Topology) -> Result<Enumeration, DiagnosticError> {
        Result { () throws(DiagnosticError) -> Enumeration in
            let document = try TopologyReader.read(text: TopologyWriter.write(t), file: "<imported>")
            return try Enumerator.enumerate(document)
        }
    }

    func description() -> String {
        let functionsText = "\(topology.devices.count) devices on \(topology.rootComplexes.count) root complex\(topology.rootComplexes.count == 1 ? "" : "es")"
        var s = "Imported by simrun from \(machine.format) (\(machine.origin)): \(functionsText)."
        if !machine.sources.isEmpty { s += " Sources: " + machine.sources.joined(separator: "; ") + "." }
        if !assumptions.isEmpty { s += " Assumptions: " + assumptions.joined(separator: "; ") + "." }
        return s
    }
}

/// How much of the input an import kept: the summary printed at the end of `simrun import`.
public struct ImportSummary: Sendable, Hashable {
    /// A function read but not placed in the topology.
    public struct Loss: Sendable, Hashable {
        public var bdf: BDF
        public var reason: String
        public var line: Int?
        /// The file the line is in when it is not the import's origin (a separate `lspci -tv` file).
        public var file: String?
        public init(bdf: BDF, reason: String, line: Int?, file: String? = nil) {
            self.bdf = bdf
            self.reason = reason
            self.line = line
            self.file = file
        }
    }
    /// Functions the input lists (VFs and functions the reader could not keep included).
    public var read: Int
    /// Functions in the topology (VFs through their PF's SR-IOV capability, the host bridge as its root complex).
    public var placed: Int
    public var dropped: [Loss]
    /// Functions known only from a tree (`lspci -tv`, `-PP` paths).
    public var treeOnly: Int
    /// Function-0 placeholders added (not counted as read or placed).
    public var placeholders: [BDF]
    /// Functions an importer synthesized because its format leaves them out (not counted as read or placed).
    public var synthesized: Int
    /// Functions with at least one fact guessed, defaulted or changed.
    public var guessedOrChanged: Int
    public var warnings: Int

    public init(read: Int = 0, placed: Int = 0, dropped: [Loss] = [], synthesized: Int = 0, treeOnly: Int = 0, placeholders: [BDF] = [],
                guessedOrChanged: Int = 0, warnings: Int = 0) {
        self.read = read
        self.placed = placed
        self.dropped = dropped
        self.synthesized = synthesized
        self.treeOnly = treeOnly
        self.placeholders = placeholders
        self.guessedOrChanged = guessedOrChanged
        self.warnings = warnings
    }

    /// Nothing dropped, guessed or changed: what `--strict` requires.
    public var isLossless: Bool { dropped.isEmpty && warnings == 0 }

    /// `33 functions read, 31 placed, 2 dropped: 0000:05:00.0 (line 80: ...), ...; ...`
    public var text: String {
        func n(_ k: Int, _ word: String) -> String { "\(k) \(word)\(k == 1 ? "" : "s")" }
        var s = "\(n(read, "function")) read, \(placed) placed, \(dropped.count) dropped"
        if !dropped.isEmpty {
            s += ": " + dropped.prefix(8).map { loss in
                let place = loss.line.map { line in loss.file.map { "\($0):\(line)" } ?? "line \(line)" }
                return "\(loss.bdf)\(place.map { " (\($0))" } ?? "") \(loss.reason)"
            }.joined(separator: "; ")
            if dropped.count > 8 { s += "; and \(dropped.count - 8) more" }
        }
        var extra: [String] = []
        if treeOnly > 0 { extra.append("\(treeOnly) known only from the tree") }
        if synthesized > 0 { extra.append("\(n(synthesized, "function")) synthesized where the format leaves them out") }
        if !placeholders.isEmpty { extra.append("\(n(placeholders.count, "function-0 placeholder")) added") }
        if guessedOrChanged > 0 { extra.append("\(n(guessedOrChanged, "function")) with facts guessed or changed") }
        extra.append(n(warnings, "warning"))
        return s + "; " + extra.joined(separator: ", ")
    }
}

/// Writes an imported topology: the canonical topology XML behind a comment that lists the sources and
/// assumptions (TopologyWriter itself stays the one writer of the format).
public enum ImportedTopologyWriter {
    public static func write(_ result: ImportResult) -> String {
        var lines = ["Imported by simrun import \(result.format) from \(result.origin).", "Sources:"]
        lines += result.sources.map { "  - " + $0 }
        if !result.assumptions.isEmpty {
            lines.append("Assumptions (per device: <param name=\"import.assumption\"> and \"import.unknown\"):")
            lines += result.assumptions.map { "  - " + $0 }
        }
        return TopologyWriter.write(result.topology, comment: lines.joined(separator: "\n     "))
    }
}


/// Where an imported fact comes from: a file and a line in it (nil for sources without lines, sysfs).
struct ImportLocation: Hashable, Sendable {
    var file: String
    var line: Int?

    /// `line 12` in the import's own file, `tree.txt:12` in another; nil without a line.
    func text(origin: String) -> String? {
        line.map { file == origin ? "line \($0)" : "\(file):\($0)" }
    }
}
