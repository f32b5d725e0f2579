// Reads a topology file: hardened libxml2 parse, XSD validation, then the element tree into model values.

/// Where each element of a topology came from, so later checks can report `file:line`.
public struct SourceMap: Sendable, Hashable {
    public var file: String
    public var topology = 0
    public var kernel: Int?
    public var sockets: [Int] = []
    public var socketLinks: [Int] = []
    public var switchChips: [Int] = []
    public var chipLinks: [Int] = []
    public var iommus: [Int] = []
    public var rootComplexes: [Int] = []
    public var devices: [Int] = []
    /// Per device, per BAR (same order as `Device.bars`).
    public var bars: [[Int]] = []
    /// Per device, per p2pmem region.
    public var p2pmem: [[Int]] = []
    /// Per `<gpu-link>`.
    public var gpuLinks: [Int] = []
    public init(file: String) { self.file = file }

    public func device(_ i: Int) -> Int? { i < devices.count ? devices[i] : nil }
    public func bar(_ d: Int, _ b: Int) -> Int? { d < bars.count && b < bars[d].count ? bars[d][b] : device(d) }
    public func rootComplex(_ i: Int) -> Int? { i < rootComplexes.count ? rootComplexes[i] : nil }
}

/// A topology with the source lines of its elements.
public struct TopologyDocument: Sendable {
    public var topology: Topology
    public var source: SourceMap
    public init(topology: Topology, source: SourceMap) {
        self.topology = topology
        self.source = source
    }
}

/// Reads topology XML into a `Topology`. Schema errors are all reported at once, with line numbers;
/// errors the schema cannot express (device numbers over 31, unknown references) follow the same format.
public enum TopologyReader {
    /// Reads and validates a file (size bound checked before reading).
    public static func read(path: String, limits: XMLLimits = .default) throws(DiagnosticError) -> TopologyDocument {
        let bytes = try SafeXML.readFile(path, limits: limits)
        return try read(bytes: bytes, file: path, limits: limits)
    }

    public static func read(text: String, file: String = "<input>", limits: XMLLimits = .default) throws(DiagnosticError) -> TopologyDocument {
        try read(bytes: Array(text.utf8), file: file, limits: limits)
    }

    public static func read(bytes: [UInt8], file: String, limits: XMLLimits = .default) throws(DiagnosticError) -> TopologyDocument {
        let root = try SafeXML.load(bytes, file: file, schema: .topology, limits: limits)
        var builder = Builder(file: file)
        builder.build(root)
        GPUFabric.check(builder.topology, lines: builder.source.gpuLinks, into: &builder.bag)
        try builder.bag.throwIfErrors()
        return TopologyDocument(topology: builder.topology, source: builder.source)
    }

    // MARK: - Building model values from the validated element tree

    private struct Builder {
        var bag: DiagnosticBag
        var topology = Topology(name: "")
        var source: SourceMap
        init(file: String) {
            bag = DiagnosticBag(file: file)
            source = SourceMap(file: file)
        }

        mutating func build(_ root: XMLElement) {
            topology.name = root["name"] ?? ""
            source.topology = root.line
            for child in root.children {
                switch child.name {
                case "description":
                    topology.description = String(child.text.trimmingSpaces)
                case "kernel":
                    source.kernel = child.line
                    topology.kernel = KernelConfiguration(commandLine: child["cmdline"] ?? "", version: kernelVersion(child))
                case "socket":
                    source.sockets.append(child.line)
                    topology.sockets.append(Socket(
                        id: int(child, "id") ?? 0, cpuVendor: CPUVendor(rawValue: child["cpu-vendor"] ?? "") ?? .other,
                        cpuFamily: int(child, "cpu-family") ?? 0, cpuModel: int(child, "cpu-model"),
                        memoryLatency: duration(child, "memory-latency")))
                case "socket-link":
                    source.socketLinks.append(child.line)
                    topology.socketLinks.append(SocketLink(
                        a: int(child, "a") ?? 0, b: int(child, "b") ?? 0,
                        kind: SocketLinkKind(rawValue: child["kind"] ?? "other") ?? .other,
                        bandwidth: rate(child, "bandwidth"), duplexShare: child["duplex-share"].flatMap(Double.init),
                        latency: duration(child, "latency") ?? 0))
                case "switch-chip":
                    source.switchChips.append(child.line)
                    topology.switchChips.append(SwitchChip(
                        name: child["name"] ?? "", routing: SwitchChipRouting(rawValue: child["routing"] ?? "partitioned") ?? .partitioned,
                        latency: duration(child, "latency"), bandwidth: rate(child, "bandwidth")))
                case "chip-link":
                    source.chipLinks.append(child.line)
                    topology.chipLinks.append(ChipLink(
                        a: child["a"] ?? "", b: child["b"] ?? "",
                        generation: LinkGeneration(rawValue: int(child, "gen") ?? 4) ?? .gen4, width: int(child, "width") ?? 16,
                        latency: duration(child, "latency") ?? 0))
                case "iommu":
                    source.iommus.append(child.line)
                    topology.iommus.append(iommu(child))
                case "root-complex":
                    rootComplex(child)
                case "gpu-link":
                    gpuLink(child)
                default:
                    bag.error(child.line, "unexpected element <\(child.name)>")
                }
            }
        }

        mutating func gpuLink(_ e: XMLElement) {
            source.gpuLinks.append(e.line)
            topology.gpuLinks.append(GPULink(kind: GPULinkKind(rawValue: e["kind"] ?? "nvlink") ?? .nvlink, a: e["a"] ?? "",
                                             b: e["b"], fabricSwitch: e["switch"], count: int(e, "count") ?? 1,
                                             targetClass: e["target-class"]))
        }

        mutating func iommu(_ e: XMLElement) -> IOMMUUnit {
            var sizes: [UInt64] = []
            for token in (e["page-sizes"] ?? "4K 2M 1G").split(separator: " ") {
                if let s = ByteSize.parse(token) { sizes.append(s) }
            }
            return IOMMUUnit(
                name: e["name"] ?? "", kind: IOMMUKind(rawValue: e["kind"] ?? "none") ?? .none,
                mode: IOMMUMode(rawValue: e["mode"] ?? "dma") ?? .dma,
                iotlbEntries: int(e, "iotlb-entries") ?? 64, iotlbWays: int(e, "iotlb-ways") ?? 4, pageSizes: sizes,
                walkLevels: int(e, "walk-levels") ?? 4, walkLatencyPerLevel: duration(e, "walk-latency"),
                walksInFlight: int(e, "walks-in-flight"))
        }

        mutating func rootComplex(_ e: XMLElement) {
            let index = topology.rootComplexes.count
            source.rootComplexes.append(e.line)
            var rc = RootComplex(name: e["name"] ?? "")
            rc.socket = int(e, "socket") ?? 0
            if let seg = int(e, "segment", max: 0xffff) { rc.segment = UInt16(seg) }
            rc.rootBus = byte(e, "bus")
            rc.busLimit = byte(e, "bus-limit")
            rc.hostBridgeID = e["host-bridge"].flatMap { PCIID($0) }
            rc.iommu = e["iommu"]
            rc.p2pForwarding = P2PForwarding(rawValue: e["p2p"] ?? "forward") ?? .forward
            rc.p2pRateCap = rate(e, "p2p-rate-cap")
            rc.p2pDuplexShare = e["p2p-duplex-share"].flatMap(Double.init)
            rc.p2pLatency = duration(e, "p2p-latency")
            rc.dmaCap = rate(e, "dma-cap")
            rc.mmio32 = range(e, "mmio32")
            rc.mmio64 = range(e, "mmio64")
            rc.defaultLink = LinkCapability(generation: LinkGeneration(rawValue: int(e, "gen") ?? 4) ?? .gen4,
                                            width: int(e, "width") ?? 16)
            rc.parameters = parameters(e)
            topology.rootComplexes.append(rc)
            var counters = NameCounters()
            for child in e.children where child.name != "param" {
                device(child, parent: nil, rootComplex: index, parentName: rc.name, counters: &counters)
            }
        }

        /// Counts unnamed children of each kind to generate names: `rc0.rp0`, `sw0.dp1`, `rc0.bridge0`.
        struct NameCounters {
            var ports = 0
            var bridges = 0
        }

        mutating func device(_ e: XMLElement, parent: Int?, rootComplex: Int, parentName: String, counters: inout NameCounters) {
            let kind: DeviceKind
            switch e.name {
            case "root-port": kind = .rootPort
            case "downstream-port": kind = .switchDownstreamPort
            case "switch": kind = .switchUpstreamPort
            case "pci-bridge": kind = .pciBridge
            case "endpoint": kind = .endpoint
            default:
                bag.error(e.line, "unexpected element <\(e.name)>")
                return
            }
            let name: String
            if let given = e["name"] {
                name = given
            } else {
                name = TopologyNaming.defaultName(kind: kind, parentName: parentName,
                                                  ordinal: kind == .pciBridge ? counters.bridges : counters.ports)
            }
            if kind == .pciBridge { counters.bridges += 1 } else if kind != .endpoint { counters.ports += 1 }

            var id = e["id"].flatMap { PCIID($0) }
            if id == nil, kind == .switchDownstreamPort, let p = parent { id = topology.devices[p].id }
            if id == nil { bag.error(e.line, "<\(e.name)> '\(name)' needs an id (vendor:device)") }

            var d = Device(name: name, kind: kind, parent: parent, rootComplex: rootComplex,
                           id: id ?? PCIID(vendor: 0xffff, device: 0xffff))
            d.subsystemID = e["subsystem"].flatMap { PCIID($0) }
            d.classCode = int(e, "class-code", max: 0xff_ffff).map { UInt32($0) }
            if let dev = int(e, "device") {
                if dev > 31 { bag.error(e.line, "device number \(dev) is out of range (0 to 31)") }
                d.deviceNumber = UInt8(min(dev, 255))
            }
            d.functionNumber = int(e, "function", max: 7).map { UInt8($0) }
            d.linkGeneration = int(e, "gen").flatMap { LinkGeneration(rawValue: $0) }
            d.linkWidth = int(e, "width")
            d.trainedGeneration = int(e, "trained-gen").flatMap { LinkGeneration(rawValue: $0) }
            d.trainedWidth = int(e, "trained-width")
            d.maxPayloadSupported = int(e, "mps")
            d.maxReadRequest = int(e, "mrrs")
            d.readCompletionBoundary = int(e, "rcb")
            if let cap = e["acs-cap"] {
                let capability = ACSFlags(cap) ?? []
                let control = e["acs-ctrl"].flatMap { ACSFlags($0) } ?? []
                let egress = (e["acs-egress"] ?? "").split(separator: " ").compactMap { Int($0) }.filter { $0 <= 255 }
                d.acs = ACSState(capability: capability, control: control, egressVector: egress)
            } else if e["acs-ctrl"] != nil || e["acs-egress"] != nil {
                bag.error(e.line, "'\(name)' sets acs-ctrl or acs-egress but has no acs-cap (no ACS capability)")
            }
            TopologyReader.readACSControlSource(e, name: name, into: &d, bag: &bag)
            d.bridge = BridgeConfig(secondaryBus: byte(e, "secondary"), subordinateBus: byte(e, "subordinate"),
                                    memoryWindow: range(e, "mem-window"), prefetchableWindow: range(e, "pref-window"))
            if kind == .switchUpstreamPort {
                d.switchInfo = SwitchInfo(latency: duration(e, "latency"), chip: e["chip"])
            }
            var barLines: [Int] = []
            var p2pLines: [Int] = []
            for b in e.children(named: "bar") {
                d.bars.append(bar(b))
                barLines.append(b.line)
            }
            if kind == .endpoint {
                d.isPCIe = bool(e, "pcie") ?? true
                let cls = EndpointClass(rawValue: e["class"] ?? "generic") ?? .generic
                let tags = int(e, "tags") ?? 8
                var info = EndpointInfo(endpointClass: cls, supportsATS: bool(e, "ats") ?? false,
                                        supportsPASID: bool(e, "pasid") ?? false,
                                        dma: DMAEngine(tagBits: tags, outstandingReads: int(e, "outstanding-reads"),
                                                       maxIssueRate: issueRate(e, "issue-rate")))
                info.driver = e["driver"]
                for p in e.children(named: "p2pmem") {
                    info.p2pmem.append(P2PMemRegion(bar: int(p, "bar", max: 5) ?? 0, size: size(p, "size") ?? 0,
                                                    offset: size(p, "offset") ?? 0, isPublished: bool(p, "published") ?? true))
                    p2pLines.append(p.line)
                }
                if let s = e.children(named: "sriov").first {
                    info.sriov = SRIOV(totalVFs: int(s, "total-vfs") ?? 0, enabledVFs: int(s, "num-vfs") ?? 0,
                                       vfID: s["vf-id"].flatMap { PCIID($0) } ?? d.id,
                                       firstVFOffset: int(s, "offset") ?? 1, vfStride: int(s, "stride") ?? 1,
                                       bars: s.children(named: "bar").map { bar($0) })
                }
                d.endpoint = info
            }
            d.parameters = parameters(e)
            let index = topology.devices.count
            topology.devices.append(d)
            source.devices.append(e.line)
            source.bars.append(barLines)
            source.p2pmem.append(p2pLines)

            var counters = NameCounters()
            for child in e.children {
                switch child.name {
                case "switch", "downstream-port", "pci-bridge", "endpoint", "root-port":
                    device(child, parent: index, rootComplex: rootComplex, parentName: name, counters: &counters)
                default:
                    break
                }
            }
        }

        mutating func bar(_ b: XMLElement) -> BAR {
            BAR(index: int(b, "index", max: 5) ?? 0, size: size(b, "size") ?? 0, is64Bit: (int(b, "bits") ?? 64) == 64,
                isPrefetchable: bool(b, "prefetchable") ?? false, address: uint64(b, "address"))
        }

        func parameters(_ e: XMLElement) -> [Parameter] {
            e.children(named: "param").map { Parameter(name: $0["name"] ?? "", value: $0["value"] ?? "") }
        }

        // Attribute conversions. The schema has already checked each form and bounded most values; a value past
        // what the model represents (issue #19) is `<attribute> <value> is out of range (max …)`, and nil.
        /// `<kernel version=>`: a known release (`5.15`, a uname string such as `6.12.57+deb13-amd64`) or mainline.
        mutating func kernelVersion(_ e: XMLElement) -> KernelVersion {
            guard let text = e["version"] else { return .mainline }
            switch KernelVersion.parse(text) {
            case .success(let v): return v
            case .failure(let why):
                bag.error(e.line, "version: \(why)")
                return .mainline
            }
        }

        mutating func int(_ e: XMLElement, _ name: String, max: Int = Int.max) -> Int? {
            guard let text = e[name] else { return nil }
            switch parseInteger(text, maximum: UInt64(max)) {
            case .success(let v): return Int(v)
            case .failure(let why):
                bag.error(e.line, why.message(attribute: name, value: text, expected: "an integer"))
                return nil
            }
        }
        mutating func uint64(_ e: XMLElement, _ name: String) -> UInt64? {
            guard let text = e[name] else { return nil }
            guard let v = parseInteger(text) else { bag.error(e.line, "\(name) \(text) is out of range (max 0xffffffffffffffff)"); return nil }
            return v
        }
        mutating func byte(_ e: XMLElement, _ name: String) -> UInt8? {
            int(e, name, max: 0xff).map { UInt8($0) }
        }
        mutating func size(_ e: XMLElement, _ name: String) -> UInt64? {
            guard let text = e[name] else { return nil }
            switch ByteSize.parseChecked(text, maximum: .max) {
            case .success(let v): return v
            case .failure(let why):
                bag.error(e.line, why.message(attribute: name, value: text, expected: "a size"))
                return nil
            }
        }
        mutating func duration(_ e: XMLElement, _ name: String) -> Picoseconds? {
            guard let text = e[name] else { return nil }
            switch Duration.parseChecked(text) {
            case .success(let v): return v
            case .failure(let why):
                bag.error(e.line, why.message(attribute: name, value: text, expected: "a duration"))
                return nil
            }
        }
        /// Model rates (caps, link bandwidths) of at least 1 MB/s: slower, the time to move a large DMA passes what
        /// Int64 picoseconds hold (issue #19).
        mutating func rate(_ e: XMLElement, _ name: String) -> DataRate? {
            guard let text = e[name] else { return nil }
            guard let r = DataRate.parse(text), r.bytesPerSecond >= 1e6 else {
                bag.error(e.line, "\(name) \(text) is out of range (min 1MB/s)")
                return nil
            }
            return r
        }
        func range(_ e: XMLElement, _ name: String) -> AddressRange? { e[name].flatMap { AddressRange($0) } }
        func bool(_ e: XMLElement, _ name: String) -> Bool? {
            e[name].map { $0 == "true" || $0 == "yes" }
        }
        func issueRate(_ e: XMLElement, _ name: String) -> Double? {
            guard var t = e[name].map({ Substring($0) }), t.hasSuffix("/s") else { return nil }
            t = t.dropLast(2)
            var scale = 1.0
            switch t.last {
            case "K": scale = 1e3
            case "M": scale = 1e6
            case "G": scale = 1e9
            default: break
            }
            if scale != 1 { t = t.dropLast() }
            return Double(t).map { ($0 * scale).rounded() }
        }
    }
}

extension TopologyReader {
    /// `acs-ctrl-source="firmware|observed"` (issue #17): whether Linux's boot-time ACS rules apply to `acs-ctrl`.
    static func readACSControlSource(_ e: XMLElement, name: String, into d: inout Device, bag: inout DiagnosticBag) {
        guard let text = e["acs-ctrl-source"] else { return }
        guard let source = ACSControlSource(rawValue: text) else {
            bag.error(e.line, "'\(name)': acs-ctrl-source must be firmware or observed, not '\(text)'")
            return
        }
        if d.acs == nil {
            if source == .observed { bag.error(e.line, "'\(name)' sets acs-ctrl-source but has no acs-cap (no ACS capability)") }
            return
        }
        d.acs?.controlSource = source
    }
}

/// Generated names for unnamed ports and bridges, shared by the reader and the writer.
public enum TopologyNaming {
    public static func defaultName(kind: DeviceKind, parentName: String, ordinal: Int) -> String {
        switch kind {
        case .rootPort: "\(parentName).rp\(ordinal)"
        case .switchDownstreamPort: "\(parentName).dp\(ordinal)"
        case .pciBridge: "\(parentName).bridge\(ordinal)"
        default: "\(parentName).dev\(ordinal)"
        }
    }
}
