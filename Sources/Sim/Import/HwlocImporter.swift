// simrun import hwloc: lstopo's XML export (hwloc 1.x and 2.x), read with the hardened XML reader.

/// Reads the PCI part of an hwloc topology: `object type="Bridge"` (host bridges `bridge_type="0-1"`, PCI
/// bridges `1-1` with `bridge_pci="dddd:[ss-bb]"`) and `object type="PCIDev"` with `pci_busid`,
/// `pci_type="cccc [vvvv:dddd] [ssss:ssss] rr"` and `pci_link_speed` (GB/s), as hwloc's topology-xml.c writes them.
public enum HwlocImporter {
    public static func read(path: String, options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        let bytes = try SafeXML.readFile(path)
        return try TopologyAssembler.assemble(machine(bytes: bytes, file: path), options: options)
    }

    public static func machine(bytes: [UInt8], file: String) throws(DiagnosticError) -> ImportedMachine {
        let root = try SafeXML.parse(blankHwlocDoctype(bytes), file: file)
        guard root.name == "topology" else {
            throw DiagnosticError(file: file, line: root.line, "expected an hwloc <topology> document, found <\(root.name)>")
        }
        var m = ImportedMachine(format: "hwloc", origin: file)
        m.sources = ["tree: the nesting of Bridge and PCIDev objects; host bridges: bridge_type=\"0-1\" with bridge_pci",
                     "BDFs: pci_busid; class and IDs: pci_type; bus numbers: bridge_pci",
                     "links: pci_link_speed (GB/s, decoded to a generation and width)",
                     "CPU: Package objects' CPUVendor, CPUFamilyNumber, CPUModelNumber infos; sockets: Package os_index"]
        var walker = HwlocWalker(file: file)
        walker.walk(root, socket: nil, hostBridge: nil, parent: nil, parentGeneration: nil)
        m.functions = walker.functions
        m.hostBridges = walker.hostBridges
        m.sockets = walker.sockets
        m.cpu = walker.sockets.values.first
        m.diagnostics = walker.bag.diagnostics
        if walker.ambiguousLinks > 0 {
            m.assumptions.append("hwloc gives a link's bandwidth, not its generation and width: \(walker.ambiguousLinks) link\(walker.ambiguousLinks == 1 ? "" : "s") matched several (e.g. Gen3 x16 = Gen4 x8); the generation of the link above, else the widest at most x16, was taken")
        }
        m.assumptions.append("hwloc XML has no BARs, windows, ACS, MPS or port types: roles follow from the tree, the rest takes model defaults")
        m.assumptions.append("hwloc's pci_link_speed is the trained link (LnkSta) when lstopo ran: taken as the link capability")
        m.assumptions.append("lstopo keeps only the bridges that lead to interesting devices unless run with --whole-io: ports without devices may be missing")
        if m.functions.isEmpty {
            throw DiagnosticError(file: file, line: root.line, "no PCI objects (type=\"PCIDev\" or \"Bridge\") in the hwloc topology; export it with lstopo --whole-io or with I/O objects enabled")
        }
        return m
    }

    /// lstopo writes `<!DOCTYPE topology SYSTEM "hwloc2.dtd">`; SafeXML refuses every DTD, so exactly this
    /// external declaration (no internal subset, nothing loaded) is blanked, keeping line numbers.
    static func blankHwlocDoctype(_ bytes: [UInt8]) -> [UInt8] {
        let marker = Array("<!DOCTYPE".utf8)
        guard let start = bytes.indices.first(where: { bytes[$0...].starts(with: marker) }),
              let end = bytes[start...].firstIndex(of: UInt8(ascii: ">")) else { return bytes }
        let declaration = String(decoding: bytes[start...end], as: UTF8.self)
        let words = declaration.dropFirst(9).dropLast().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard words.count == 3, words[0] == "topology", words[1] == "SYSTEM",
              words[2] == "\"hwloc.dtd\"" || words[2] == "\"hwloc2.dtd\"" else { return bytes }
        var out = bytes
        for i in start...end where out[i] != UInt8(ascii: "\n") { out[i] = UInt8(ascii: " ") }
        return out
    }

    /// Decodes hwloc's link bandwidth: lanes x GT/s x encoding / 8 (pci-common.c, hwloc_pcidisc_find_linkspeed:
    /// 8b/10b for Gen1-2, 128b/130b for Gen3-5, 242/256 for Gen6). Several generation/width pairs give the
    /// same figure: the one with the generation of the link above wins, else the widest at most x16.
    public static func link(gigabytesPerSecond: Double, preferring preferred: LinkGeneration? = nil) -> (generation: LinkGeneration, width: Int, ambiguous: Bool)? {
        // 1e308 or inf must not reach Int(lanes): no PCIe link has more than 32 lanes.
        guard gigabytesPerSecond > 0, gigabytesPerSecond.isFinite else { return nil }
        var matches: [(LinkGeneration, Int)] = []
        for g in LinkGeneration.allCases {
            let encoding = g <= .gen2 ? 8.0 / 10.0 : (g == .gen6 ? 242.0 / 256.0 : 128.0 / 130.0)
            let perLane = g.gigatransfersPerSecond * encoding / 8
            let lanes = gigabytesPerSecond / perLane
            let rounded = lanes.rounded()
            if rounded <= 64, abs(lanes - rounded) < 0.01, supportedLinkWidths.contains(Int(rounded)) { matches.append((g, Int(rounded))) }
        }
        if let preferred, let same = matches.first(where: { $0.0 == preferred }) { return (same.0, same.1, matches.count > 1) }
        let usable = matches.filter { $0.1 <= 16 }
        guard let best = (usable.isEmpty ? matches : usable).max(by: { $0.1 < $1.1 }) else { return nil }
        return (best.0, best.1, matches.count > 1)
    }
}

struct HwlocWalker {
    var bag: DiagnosticBag
    var functions: [ImportedFunction] = []
    var hostBridges: [ImportedHostBridge] = []
    var sockets: [Int: ImportedCPU] = [:]
    var ambiguousLinks = 0

    init(file: String) { bag = DiagnosticBag(file: file) }

    func info(_ e: XMLElement, _ name: String) -> String? {
        e.children(named: "info").first { $0["name"] == name }?["value"]
    }

    mutating func walk(_ e: XMLElement, socket: Int?, hostBridge: ImportedHostBridge?, parent: BDF?, parentGeneration: LinkGeneration?) {
        var socket = socket
        var hostBridge = hostBridge
        var parent = parent
        var generation = parentGeneration
        if e.name == "object" {
            switch e["type"] ?? "" {
            case "Package", "Socket":
                let id = e["os_index"].flatMap { Int($0) } ?? sockets.count
                socket = id
                if let vendor = info(e, "CPUVendor") {
                    sockets[id] = ImportedCPU(vendor: ImportedCPU.vendor(fromVendorID: vendor),
                                              family: info(e, "CPUFamilyNumber").flatMap { Int($0) },
                                              model: info(e, "CPUModelNumber").flatMap { Int($0) })
                } else if sockets[id] == nil, let arch = info(e, "Architecture"), arch.hasPrefix("aarch64") || arch.hasPrefix("arm") {
                    sockets[id] = ImportedCPU(vendor: .arm)
                }
            case "Bridge", "HostBridge", "PCIBridge":
                let types = (e["bridge_type"] ?? "").split(separator: "-")
                let range = e["bridge_pci"].flatMap(Self.busRange)
                if types.first == "0" || e["type"] == "HostBridge" {
                    guard let range else {
                        bag.warning(e.line, "host bridge without bridge_pci=\"dddd:[ss-bb]\": its buses are unknown")
                        hostBridge = nil
                        break
                    }
                    let hb = ImportedHostBridge(segment: range.segment, bus: range.secondary, busLimit: range.subordinate,
                                                socket: socket, line: e.line)
                    if !hostBridges.contains(where: { $0.segment == hb.segment && $0.bus == hb.bus }) { hostBridges.append(hb) }
                    hostBridge = hb
                    parent = nil
                    generation = nil
                } else if var f = function(e, parent: parent, parentGeneration: generation) {
                    f.secondaryBus = range?.secondary
                    f.subordinateBus = range?.subordinate
                    if f.classCode == nil { f.classCode = 0x06_04_00 }
                    functions.append(f)
                    parent = f.bdf
                    generation = f.maxLinkGeneration ?? generation
                } else {
                    return   // left out with its children (warned)
                }
            case "PCIDev":
                guard let f = function(e, parent: parent, parentGeneration: generation) else { return }
                functions.append(f)
                parent = f.bdf
            default:
                break
            }
        }
        for c in e.children where c.name == "object" {
            walk(c, socket: socket, hostBridge: hostBridge, parent: parent, parentGeneration: generation)
        }
    }

    /// `0000:[01-3f]`.
    static func busRange(_ text: String) -> (segment: UInt16, secondary: UInt8, subordinate: UInt8)? {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let seg = UInt16(parts[0], radix: 16) else { return nil }
        let inner = parts[1].strippingBrackets
        let buses = inner.split(separator: "-")
        guard buses.count == 2, let s = UInt8(buses[0], radix: 16), let b = UInt8(buses[1], radix: 16) else { return nil }
        return (seg, s, b)
    }

    mutating func function(_ e: XMLElement, parent: BDF?, parentGeneration: LinkGeneration?) -> ImportedFunction? {
        guard let busid = e["pci_busid"], let bdf = BDF(busid) else {
            bag.warning(e.line, "\(e["type"] ?? "object") without a readable pci_busid (\(e["pci_busid"] ?? "missing")); it and its children are left out")
            return nil
        }
        var f = ImportedFunction(bdf: bdf, parent: parent, line: e.line)
        // "0604 [8086:2030] [8086:0000] 04": class, [vendor:device], [subvendor:subdevice], revision.
        if let type = e["pci_type"] {
            let fields = type.split(separator: " ")
            if let c = fields.first.flatMap({ UInt32($0, radix: 16) }), fields.first?.count == 4 {
                f.classCode = c << 8
                if c == 0x0108 {
                    // hwloc keeps no programming interface; an NVM controller is almost always NVMe (prog-if 02).
                    f.classCode = 0x01_08_02
                    f.assumptions.append("hwloc gives class 0108 without a programming interface: taken as NVMe (0x010802)")
                }
            }
            if fields.count > 1 { f.id = PCIID(fields[1].strippingBrackets) }
            if fields.count > 2 { f.subsystemID = PCIID(fields[2].strippingBrackets).flatMap { $0.vendor == 0 && $0.device == 0 ? nil : $0 } }
            if fields.count > 3 { f.revision = UInt8(fields[3], radix: 16) }
            if f.id == nil { bag.warning(e.line, "\(bdf): cannot read vendor:device in pci_type=\"\(type)\"") }
        } else {
            bag.warning(e.line, "\(bdf): no pci_type attribute: class and IDs unknown")
        }
        if let speed = (e["pci_link_speed"] ?? e["linkspeed"]).flatMap({ Double($0) }), speed > 0 {
            if let l = HwlocImporter.link(gigabytesPerSecond: speed, preferring: parentGeneration) {
                f.maxLinkGeneration = l.generation
                f.maxLinkWidth = l.width
                f.isPCIe = true
                if l.ambiguous { ambiguousLinks += 1 }
            } else {
                bag.warning(e.line, "\(bdf): pci_link_speed \(speed) GB/s matches no PCIe generation and width")
            }
        }
        f.barsKnown = false
        return f
    }
}

extension StringProtocol {
    /// The text without leading `[` and trailing `]`.
    var strippingBrackets: String {
        var s = Substring(self)
        while s.first == "[" { s = s.dropFirst() }
        while s.last == "]" { s = s.dropLast() }
        return String(s)
    }
}
