// NCCL topology XML (NCCL_TOPO_FILE / NCCL_TOPO_DUMP_FILE): import into a topology, and export one.
//
// NCCL's XML (src/graph/xml.cc) lists, per NUMA node (`<cpu>`), the PCI devices that lead to GPUs and NICs.
// Walking up from a device it skips one level each time (the port), so a `<pci>` is either a switch's
// upstream port or an endpoint; root ports and downstream ports never appear, and `link_speed`/`link_width`
// are the lower of the device's and its port's max_link_speed/max_link_width.

/// Reads NCCL topology XML through the hardened XML reader.
public enum NCCLImporter {
    public static func read(path: String, options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        let bytes = try SafeXML.readFile(path)
        return try TopologyAssembler.assemble(machine(bytes: bytes, file: path), options: options)
    }

    struct Node {
        var bdf: BDF
        var element: XMLElement
        var cpu: Int
        var children: [Node]
        var isGPU: Bool
        var isNIC: Bool
        /// The first `<net name>` of a NIC (`mlx5_0`), kept as the device's name.
        var name: String?
        /// Highest bus number the node's subtree uses (a switch's internal bus included).
        var lastBus: Int {
            children.reduce(children.isEmpty ? Int(bdf.bus) : Int(bdf.bus) + 1) { max($0, $1.lastBus) }
        }
    }

    public static func machine(bytes: [UInt8], file: String) throws(DiagnosticError) -> ImportedMachine {
        let root = try SafeXML.parse(bytes, file: file)
        guard root.name == "system" else {
            throw DiagnosticError(file: file, line: root.line, "expected an NCCL <system> document, found <\(root.name)>")
        }
        var bag = DiagnosticBag(file: file)
        var m = ImportedMachine(format: "nccl", origin: file)
        m.sources = ["sockets and CPU: <cpu numaid vendor familyid modelid arch>",
                     "switches and endpoints: nested <pci busid class vendor device subsystem_vendor subsystem_device>",
                     "links: link_speed and link_width (the lower of the device's and its port's maximum)",
                     "GPUs and NICs: <gpu> and <nic> children"]
        m.assumptions = ["NCCL topologies omit root ports and switch downstream ports: they are synthesized (unpinned device numbers), with the link of the device below",
                         "NCCL topologies have no host bridges: a root complex is assumed at the bus below each top-level device unless that bus is taken; a top-level device on bus 0 or without link attributes sits on a root bus",
                         "NCCL topologies have no BARs, ACS, MPS or MRRS: model defaults apply"]
        var tops: [Node] = []
        for (k, cpu) in root.children.enumerated() {
            guard cpu.name == "cpu" else {
                bag.warning(cpu.line, "<\(cpu.name)> under <system> ignored (only <cpu> is read)")
                continue
            }
            let numa = cpu["numaid"].flatMap { Int($0) } ?? k
            if cpu["numaid"] == nil { bag.warning(cpu.line, "<cpu> without numaid: taken as NUMA node \(numa)") }
            var vendor = cpu["vendor"].map { ImportedCPU.vendor(fromVendorID: $0) }
            if let arch = cpu["arch"], arch == "arm64" || arch == "aarch64" { vendor = .arm }
            if let vendor {
                m.sockets[numa] = ImportedCPU(vendor: vendor, family: cpu["familyid"].flatMap { Int($0) }, model: cpu["modelid"].flatMap { Int($0) })
            }
            for c in cpu.children {
                switch c.name {
                case "pci": if let n = node(c, cpu: numa, bag: &bag) { tops.append(n) }
                case "nic": bag.warning(c.line, "<nic> directly under <cpu> (a network device not on PCI) ignored")
                default: bag.warning(c.line, "<\(c.name)> under <cpu> ignored")
                }
            }
        }
        guard !tops.isEmpty else {
            bag.error(root.line, "no <pci> devices under any <cpu>")
            throw DiagnosticError(bag.sorted)
        }
        var builder = Builder()
        builder.build(tops)
        m.functions = builder.functions
        m.hostBridges = builder.hostBridges
        m.cpu = m.sockets.values.first
        bag.append(contentsOf: builder.bag)
        m.diagnostics = bag.diagnostics
        return m
    }

    static func node(_ e: XMLElement, cpu: Int, bag: inout DiagnosticBag) -> Node? {
        guard let busid = e["busid"], let bdf = BDF(busid.lowercased()) else {
            bag.warning(e.line, "<pci> without a readable busid (\(e["busid"] ?? "missing")); it and its children are left out")
            return nil
        }
        var n = Node(bdf: bdf, element: e, cpu: cpu, children: [], isGPU: false, isNIC: false, name: nil)
        for c in e.children {
            switch c.name {
            case "pci": if let child = node(c, cpu: cpu, bag: &bag) { n.children.append(child) }
            case "gpu": n.isGPU = true
            case "nic":
                n.isNIC = true
                if n.name == nil { n.name = c.children(named: "net").first?["name"] }
            default: break   // nvlink, c2c, ... are not PCI
            }
        }
        return n
    }

    /// Rebuilds the PCI tree with the ports NCCL leaves out.
    struct Builder {
        var functions: [ImportedFunction] = []
        var hostBridges: [ImportedHostBridge] = []
        var bag: [Diagnostic] = []
        var usedDevfn: [BDF: Bool] = [:]

        mutating func build(_ tops: [Node]) {
            var bySegment: [UInt16: [Node]] = [:]
            for t in tops { bySegment[t.bdf.segment, default: []].append(t) }
            for segment in bySegment.keys.sorted() {
                var lastUsed = -1
                var group: (bus: UInt8, cpu: Int)?
                var portOf: [BDF: BDF] = [:]   // functions of one device share one synthesized root port
                for t in bySegment[segment]!.sorted(by: { $0.bdf < $1.bdf }) {
                    let device = BDF(segment: t.bdf.segment, bus: t.bdf.bus, device: t.bdf.device, function: 0)
                    if let port = portOf[device] {
                        add(t, parent: port)
                        continue
                    }
                    // On a root bus: bus 0, or no link attributes at all (NCCL writes them for every device below
                    // a port, from max_link_speed; NCCLExporter leaves them out for root-bus devices).
                    if t.bdf.bus == 0 || (t.element["link_speed"] == nil && t.element["link_width"] == nil) {
                        addHostBridge(segment, t.bdf.bus, cpu: t.cpu)
                        add(t, parent: nil)
                        group = (t.bdf.bus, t.cpu)
                        lastUsed = max(lastUsed, t.lastBus)
                        continue
                    }
                    let below = Int(t.bdf.bus) - 1
                    if let g = group, g.cpu == t.cpu, lastUsed >= below {
                        portOf[device] = rootPort(for: t, rootBus: g.bus)
                    } else if below > lastUsed {
                        group = (UInt8(below), t.cpu)
                        addHostBridge(segment, UInt8(below), cpu: t.cpu)
                        portOf[device] = rootPort(for: t, rootBus: UInt8(below))
                    } else if let g = group {
                        bag.append(Diagnostic(file: "", line: t.element.line, severity: .warning,
                            message: "\(t.bdf) (NUMA node \(t.cpu)) shares its root bus with NUMA node \(g.cpu)'s devices (no bus number free between them)"))
                        portOf[device] = rootPort(for: t, rootBus: g.bus)
                    } else {
                        addHostBridge(segment, 0, cpu: t.cpu)
                        add(t, parent: nil)
                    }
                    lastUsed = max(lastUsed, t.lastBus)
                }
            }
        }

        mutating func addHostBridge(_ segment: UInt16, _ bus: UInt8, cpu: Int) {
            if !hostBridges.contains(where: { $0.segment == segment && $0.bus == bus }) {
                hostBridges.append(ImportedHostBridge(segment: segment, bus: bus, socket: cpu))
            }
        }

        /// A free device number on a bus for a synthesized port.
        mutating func freeBDF(segment: UInt16, bus: UInt8) -> BDF {
            for d in 0..<32 {
                let b = BDF(segment: segment, bus: bus, device: UInt8(d), function: 0)
                if usedDevfn[b] == nil, !functions.contains(where: { $0.bdf.segment == segment && $0.bdf.bus == bus && $0.bdf.device == UInt8(d) }) {
                    usedDevfn[b] = true
                    return b
                }
            }
            return BDF(segment: segment, bus: bus, device: 31, function: 7)
        }

        mutating func synthesizedPort(_ type: PCIePortType, at bdf: BDF, parent: BDF?, over child: Node) -> BDF {
            var p = ImportedFunction(bdf: bdf, parent: parent, line: child.element.line)
            p.isSynthetic = true
            p.portType = type
            p.isPCIe = true
            p.classCode = 0x06_04_00
            p.secondaryBus = child.bdf.bus
            p.acsKnown = false
            // A downstream port carries its switch's ID, as the topology format's default does.
            p.id = parent.flatMap { b in functions.first { $0.bdf == b }?.id }
            let (g, w) = link(child.element)
            p.maxLinkGeneration = g
            p.maxLinkWidth = w
            p.assumptions.append("synthesized \(type == .rootPort ? "root port" : "downstream port") above \(child.bdf): NCCL topologies leave ports out")
            functions.append(p)
            return bdf
        }

        mutating func rootPort(for t: Node, rootBus: UInt8) -> BDF {
            let port = synthesizedPort(.rootPort, at: freeBDF(segment: t.bdf.segment, bus: rootBus), parent: nil, over: t)
            add(t, parent: port)
            return port
        }

        /// The device itself and, for a switch, one synthesized downstream port per child device.
        mutating func add(_ n: Node, parent: BDF?) {
            var f = ImportedFunction(bdf: n.bdf, parent: parent, line: n.element.line)
            f.name = n.name
            let e = n.element
            f.classCode = e["class"].flatMap { PCIClass.hexValue($0) }.flatMap { UInt32(exactly: $0) }
            if let v = e["vendor"].flatMap({ PCIClass.hexValue($0) }), let d = e["device"].flatMap({ PCIClass.hexValue($0) }),
               let vendor = UInt16(exactly: v), let device = UInt16(exactly: d) {
                f.id = PCIID(vendor: vendor, device: device)
            }
            if let v = e["subsystem_vendor"].flatMap({ PCIClass.hexValue($0) }), let d = e["subsystem_device"].flatMap({ PCIClass.hexValue($0) }),
               let vendor = UInt16(exactly: v), let device = UInt16(exactly: d) {
                f.subsystemID = PCIID(vendor: vendor, device: device)
            }
            if n.isGPU, f.classCode.map({ $0 >> 16 != 0x03 }) ?? true {
                f.assumptions.append("NCCL lists a <gpu> here; class code \(f.classCode.map { "0x" + hex($0, 6) } ?? "unknown") taken as a 3D controller")
                f.classCode = 0x03_02_00
            }
            if n.isNIC, f.classCode.map({ $0 >> 16 != 0x02 }) ?? true {
                f.assumptions.append("NCCL lists a <nic> here; class code \(f.classCode.map { "0x" + hex($0, 6) } ?? "unknown") taken as an Ethernet controller")
                f.classCode = 0x02_00_00
            }
            let (g, w) = link(e)
            f.maxLinkGeneration = g
            f.maxLinkWidth = w
            f.isPCIe = parent != nil || g != nil ? true : nil
            f.barsKnown = false
            if !n.children.isEmpty {
                f.portType = .upstreamPort
                let internalBus = Int(n.bdf.bus) + 1
                let lowest = n.children.map { Int($0.bdf.bus) }.min() ?? 0
                let busFree = internalBus < lowest && internalBus <= 0xFF
                if busFree {
                    f.secondaryBus = UInt8(internalBus)
                } else {
                    f.assumptions.append("the devices below \(n.bdf) leave no bus for the switch's internalBus bus: enumeration assigns the bus numbers below it")
                }
                functions.append(f)
                var ports: [String: BDF] = [:]
                for c in n.children.sorted(by: { $0.bdf < $1.bdf }) {
                    let key = "\(c.bdf.bus).\(c.bdf.device)"
                    if let port = ports[key] {
                        add(c, parent: port)
                        continue
                    }
                    // Without a free internalBus bus the ports get placeholder addresses; they are not pinned anyway.
                    let at = busFree ? freeBDF(segment: n.bdf.segment, bus: UInt8(internalBus))
                        : BDF(segment: 0xFFFF, bus: 0xFF, device: UInt8(ports.count & 31), function: UInt8((ports.count >> 5) & 7))
                    let port = synthesizedPort(.downstreamPort, at: at, parent: n.bdf, over: c)
                    if !busFree { functions[functions.count - 1].secondaryBus = nil }
                    ports[key] = port
                    add(c, parent: port)
                }
            } else {
                f.portType = parent == nil ? .rootComplexIntegratedEndpoint : .endpoint
                functions.append(f)
            }
        }

        func link(_ e: XMLElement) -> (LinkGeneration?, Int?) {
            let g = e["link_speed"].flatMap { LinkGeneration(speedText: $0) }
            let w = e["link_width"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
            return (g, w)
        }
    }
}

/// Writes NCCL topology XML for a machine: one `<cpu>` per socket with the devices of its root complexes,
/// switches as nested `<pci>` (upstream port BDF, class 0x060400), endpoints with `<gpu>` or `<nic>` children
/// where the class says so. Root ports and downstream ports are left out as NCCL leaves them out, so
/// `NCCLImporter` reads the file back to the same tree, link speeds and widths.
public enum NCCLExporter {
    public static func write(_ loaded: LoadedTopology) -> String {
        let t = loaded.topology
        let e = loaded.enumeration
        let (children, rootBus) = t.childrenIndex()
        var x = XMLBuilder(declaration: false)
        var gpus = 0
        var nics = 0

        func capability(_ d: Int) -> LinkCapability {
            let dev = t.devices[d]
            let above = dev.parent.map(capability) ?? t.rootComplexes[dev.rootComplex].defaultLink
            return LinkCapability(generation: dev.linkGeneration ?? above.generation, width: dev.linkWidth ?? above.width)
        }
        func attributes(_ d: Int, port: Int?) -> [(String, String?)] {
            let dev = t.devices[d]
            var a: [(String, String?)] = [("busid", e.functions[d].bdf.description),
                                          ("class", "0x" + hex(dev.effectiveClassCode, 6)),
                                          ("vendor", "0x" + hex(dev.id.vendor, 4)), ("device", "0x" + hex(dev.id.device, 4)),
                                          ("subsystem_vendor", dev.subsystemID.map { "0x" + hex($0.vendor, 4) }),
                                          ("subsystem_device", dev.subsystemID.map { "0x" + hex($0.device, 4) })]
            if let port, dev.isPCIe {
                // As NCCL: the lower of the device's and its port's maximum speed and width.
                let mine = capability(d)
                let theirs = capability(port)
                a.append(("link_speed", min(mine.generation, theirs.generation).sysfsSpeedText))
                a.append(("link_width", String(min(mine.width, theirs.width))))
            }
            return a
        }
        func device(_ d: Int, port: Int?) {
            let dev = t.devices[d]
            switch dev.kind {
            case .switchUpstreamPort, .pciBridge:
                let below = dev.kind == .pciBridge ? children[d].map { ($0, Int?.none) } : children[d].flatMap { dp in children[dp].map { ($0, Optional(dp)) } }
                if below.isEmpty {
                    x.empty("pci", attributes(d, port: port))
                } else {
                    x.open("pci", attributes(d, port: port))
                    for (c, p) in below { device(c, port: p) }
                    x.close("pci")
                }
            case .endpoint:
                let cls = dev.effectiveClassCode >> 16
                if cls == 0x03 {
                    x.open("pci", attributes(d, port: port))
                    x.empty("gpu", [("dev", String(gpus)), ("rank", String(gpus))])
                    gpus += 1
                    x.close("pci")
                } else if cls == 0x02 {
                    x.open("pci", attributes(d, port: port))
                    x.open("nic", [])
                    x.empty("net", [("name", dev.name), ("dev", String(nics))])
                    nics += 1
                    x.close("nic")
                    x.close("pci")
                } else {
                    x.empty("pci", attributes(d, port: port))
                }
            case .rootPort, .switchDownstreamPort:
                for c in children[d] { device(c, port: d) }
            }
        }

        x.open("system", [("version", "1")])
        let sockets = t.sockets.isEmpty ? [Socket(id: 0, cpuVendor: .other, cpuFamily: 0)] : t.sockets.sorted { $0.id < $1.id }
        for s in sockets {
            let x86 = s.cpuVendor != .arm
            let vendor: String? = switch s.cpuVendor {
            case .intel: "GenuineIntel"
            case .amd: "AuthenticAMD"
            case .zhaoxin: "CentaurHauls"
            default: nil
            }
            x.open("cpu", [("numaid", String(s.id)), ("arch", x86 ? "x86_64" : "arm64"), ("vendor", vendor),
                           ("familyid", x86 && s.cpuFamily != 0 ? String(s.cpuFamily) : nil),
                           ("modelid", x86 ? s.cpuModel.map(String.init) : nil)])
            for (r, rc) in t.rootComplexes.enumerated() where rc.socket == s.id || t.sockets.isEmpty {
                for d in rootBus[r] where t.devices[d].endpoint?.endpointClass != .hostBridge {
                    device(d, port: nil)
                }
            }
            x.close("cpu")
        }
        x.close("system")
        return x.text
    }
}
