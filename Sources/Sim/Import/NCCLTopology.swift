// NCCL topology XML (NCCL_TOPO_FILE / NCCL_TOPO_DUMP_FILE): import into a topology, and export one.
//
// NCCL's XML (src/graph/xml.cc) lists, per NUMA node (`<cpu>`), the PCI devices that lead to GPUs and NICs.
// Walking up from a device it skips one level each time (the port), so a `<pci>` is either a switch's
// upstream port or an endpoint; root ports and downstream ports never appear, and `link_speed`/`link_width`
// are the lower of the device's and its port's max_link_speed/max_link_width.

/// Reads NCCL topology XML through the hardened XML reader.
///
/// What NCCL itself reads (src/graph/topo.cc, ncclTopoAddPci/ncclTopoAddNvLinks/ncclTopoAddCpu; xml.cc) is
/// kept: the PCIe tree as topology devices, `<nvlink>` as `<gpu-link>`, and every other attribute NCCL reads
/// (`<gpu sm gdr rank dev>`, `<net ...>`, `<c2c>`, `<pcilink>`, `<cpu affinity host_hash ...>`, link strings NCCL
/// reads differently from their plain meaning) as `nccl.*` parameters, so `NCCLExporter` writes them back.
public enum NCCLImporter {
    public static func read(path: String, options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        let bytes = try SafeXML.readFile(path)
        return try read(bytes: bytes, file: path, options: options)
    }

    /// Parses, assembles, then adds what the assembler has no field for: GPU links and the `<cpu>` attributes.
    public static func read(bytes: [UInt8], file: String, options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        let parsed = try parse(bytes: bytes, file: file)
        var result = try TopologyAssembler.assemble(parsed.machine, options: options)
        attach(parsed.extras, to: &result, file: file)
        return result
    }

    public static func machine(bytes: [UInt8], file: String) throws(DiagnosticError) -> ImportedMachine {
        try parse(bytes: bytes, file: file).machine
    }

    /// What an NCCL file says beyond the PCI functions.
    struct Extras {
        /// Per NUMA node: the `<cpu>` attributes and its `<nic>` elements not on PCI (`nccl.*` parameters).
        var cpuParameters: [Int: [Parameter]] = [:]
        var nvlinks: [NVLinkEntry] = []
    }

    struct NVLinkEntry {
        var gpuBusid: BDF
        var target: String
        var count: Int
        var targetClass: String?
        var line: Int
    }

    struct Node {
        var bdf: BDF
        var element: XMLElement
        var cpu: Int
        var children: [Node]
        var isGPU: Bool
        var isNIC: Bool
        /// A hypervisor's flattened PCIe view: a `<pci class="0x060400">` in domain ffff or with vendor 0x0000/0xffff.
        var isVirtualSwitch: Bool
        /// The first `<net name>` of a NIC (`mlx5_0`), kept as the device's name.
        var name: String?
        /// `nccl.*` parameters for the device.
        var parameters: [Parameter]
        /// Highest bus number the node's subtree uses (a switch's internal bus included).
        var lastBus: Int {
            children.reduce(children.isEmpty ? Int(bdf.bus) : Int(bdf.bus) + 1) { max($0, $1.lastBus) }
        }
    }

    /// An element's attributes as XML attribute text (`dev="0" sm="80"`), the value of an `nccl.*` parameter.
    static func attributeText(_ e: XMLElement) -> String {
        e.attributes.map { "\($0.name)=\"\(XMLText.escape($0.value))\"" }.joined(separator: " ")
    }

    /// The attributes of an `nccl.*` parameter value; nil when it does not parse.
    static func attributes(ofParameter value: String) -> [(String, String?)]? {
        guard let e = try? SafeXML.parse(Array("<a \(value)/>".utf8), file: "param") else { return nil }
        return e.attributes.map { ($0.name, Optional($0.value)) }
    }

    /// The speed NCCL takes from a `link_speed` string: the first entry of topo.cc's `kvDictPciGen` the string
    /// starts with (kvConvertToInt compares the entry's length only), else the table's fallback, 60 (x100 Mbps
    /// per lane), which is 8 GT/s. So `32 GT/s PCIe/s` reads as 32 GT/s, and `16.0 GT/s` (no `PCIe`, the
    /// string xml.cc writes when NVML gives no generation) and the empty string read as 8 GT/s.
    public static func ncclLinkSpeed(_ text: String) -> (generation: LinkGeneration, known: Bool) {
        let table: [(String, LinkGeneration)] = [
            ("2.5 GT/s", .gen1), ("5 GT/s", .gen2), ("8 GT/s", .gen3), ("16 GT/s", .gen4), ("32 GT/s", .gen5),
            ("2.5 GT/s PCIe", .gen1), ("5.0 GT/s PCIe", .gen2), ("8.0 GT/s PCIe", .gen3), ("16.0 GT/s PCIe", .gen4),
            ("32.0 GT/s PCIe", .gen5), ("64.0 GT/s PCIe", .gen6),
        ]
        for (prefix, g) in table where text.utf8.starts(with: prefix.utf8) { return (g, true) }
        return (.gen3, false)
    }

    static func parse(bytes: [UInt8], file: String) throws(DiagnosticError) -> (machine: ImportedMachine, extras: Extras) {
        let root = try SafeXML.parse(bytes, file: file)
        guard root.name == "system" else {
            throw DiagnosticError(file: file, line: root.line, "expected an NCCL <system> document, found <\(root.name)>")
        }
        var bag = DiagnosticBag(file: file)
        var m = ImportedMachine(format: "nccl", origin: file)
        var extras = Extras()
        m.sources = ["sockets and CPU: <cpu numaid vendor familyid modelid arch>",
                     "switches and endpoints: nested <pci busid class vendor device subsystem_vendor subsystem_device>",
                     "links: link_speed and link_width (the lower of the device's and its port's maximum), read as NCCL reads them",
                     "GPUs and NICs: <gpu> and <nic> children; NVLink: <gpu><nvlink target count tclass>",
                     "virtual switches (busid ffff:ff:xx.x, vendor 0x0000 or 0xffff): a hypervisor's flattened PCIe view"]
        m.assumptions = ["NCCL topologies omit root ports and switch downstream ports: they are synthesized (unpinned device numbers), with the link of the device below",
                         "NCCL topologies have no host bridges: a root complex is assumed at the bus below each top-level device unless that bus is taken; a top-level device on bus 0 or without link attributes sits on a root bus",
                         "NCCL topologies have no BARs, ACS, MPS or MRRS: model defaults apply"]
        var tops: [Node] = []
        var virtualTops: [Node] = []
        var cpuOrder: [Int] = []
        for (k, cpu) in root.children.enumerated() {
            guard cpu.name == "cpu" else {
                bag.warning(cpu.line, "<\(cpu.name)> under <system> ignored (only <cpu> is read)")
                continue
            }
            let numa = cpu["numaid"].flatMap { Int($0) } ?? k
            if cpu["numaid"] == nil { bag.warning(cpu.line, "<cpu> without numaid: taken as NUMA node \(numa)") }
            if !cpuOrder.contains(numa) { cpuOrder.append(numa) }
            var vendor = cpu["vendor"].map { ImportedCPU.vendor(fromVendorID: $0) }
            if let arch = cpu["arch"], arch == "arm64" || arch == "aarch64" { vendor = .arm }
            if let vendor {
                m.sockets[numa] = ImportedCPU(vendor: vendor, family: cpu["familyid"].flatMap { Int($0) }, model: cpu["modelid"].flatMap { Int($0) })
            }
            extras.cpuParameters[numa, default: []].append(Parameter(name: "nccl.cpu", value: attributeText(cpu)))
            for c in cpu.children {
                switch c.name {
                case "pci":
                    if let n = node(c, cpu: numa, bag: &bag, nvlinks: &extras.nvlinks) {
                        if n.isVirtualSwitch { virtualTops.append(n) } else { tops.append(n) }
                    }
                case "nic":
                    // A network device NCCL attaches to the CPU itself (topo.cc, ncclTopoAddCpu): not a PCI function.
                    bag.warning(c.line, "<nic> directly under <cpu> (a network device not on PCI, as NCCL attaches it to the CPU): not a PCIe device, kept for export nccl as parameters of NUMA node \(numa)'s root complex")
                    extras.cpuParameters[numa, default: []].append(Parameter(name: "nccl.cpu-nic", value: attributeText(c)))
                    for net in c.children(named: "net") {
                        extras.cpuParameters[numa, default: []].append(Parameter(name: "nccl.cpu-net", value: attributeText(net)))
                    }
                default: bag.warning(c.line, "<\(c.name)> under <cpu> ignored")
                }
            }
        }
        guard !tops.isEmpty || !virtualTops.isEmpty else {
            bag.error(root.line, "no <pci> devices under any <cpu>")
            throw DiagnosticError(bag.sorted)
        }
        var builder = Builder()
        builder.reserved = allBDFs(tops + virtualTops)
        builder.build(tops)
        builder.buildVirtual(virtualTops, cpus: cpuOrder, allBusids: allBusids(root))
        m.functions = builder.functions
        m.hostBridges = builder.hostBridges
        m.cpu = m.sockets.values.first
        bag.append(contentsOf: builder.bag)
        m.diagnostics = bag.diagnostics
        if !virtualTops.isEmpty {
            m.assumptions.append("virtual switches (\(virtualTops.map { $0.element["busid"] ?? "" }.joined(separator: ", "))) are a hypervisor's flattened PCIe view: each is modeled as a switch whose devices share it (PIX, as NCCL and nvidia-smi say), on one root complex per NUMA node in a PCI domain no device uses; the devices below keep their NCCL busid in nccl.busid")
        }
        return (m, extras)
    }

    static func allBDFs(_ nodes: [Node]) -> Set<BDF> {
        var out = Set<BDF>()
        func walk(_ n: Node) {
            out.insert(n.bdf)
            n.children.forEach(walk)
        }
        nodes.forEach(walk)
        return out
    }

    static func allBusids(_ root: XMLElement) -> Set<UInt16> {
        var segments = Set<UInt16>()
        func walk(_ e: XMLElement) {
            if e.name == "pci", let b = e["busid"].flatMap({ BDF($0.lowercased()) }) { segments.insert(b.segment) }
            for c in e.children { walk(c) }
        }
        walk(root)
        return segments
    }

    static func node(_ e: XMLElement, cpu: Int, bag: inout DiagnosticBag, nvlinks: inout [NVLinkEntry]) -> Node? {
        guard let busid = e["busid"], let bdf = BDF(busid.lowercased()) else {
            bag.warning(e.line, "<pci> without a readable busid (\(e["busid"] ?? "missing")); it and its children are left out")
            return nil
        }
        let vendor = e["vendor"].flatMap { PCIClass.hexValue($0) }
        let isBridgeClass = e["class"].flatMap { PCIClass.hexValue($0) }.map { $0 >> 8 == 0x0604 } ?? false
        let virtual = isBridgeClass && (bdf.segment == 0xFFFF || vendor == 0 || vendor == 0xFFFF)
        var n = Node(bdf: bdf, element: e, cpu: cpu, children: [], isGPU: false, isNIC: false, isVirtualSwitch: virtual,
                     name: nil, parameters: [])
        // Kept on every device; `attach` drops it where the topology's own address is the same text.
        n.parameters.append(Parameter(name: "nccl.busid", value: busid))
        linkParameters(e, into: &n.parameters, bag: &bag)
        for c in e.children {
            switch c.name {
            case "pci": if let child = node(c, cpu: cpu, bag: &bag, nvlinks: &nvlinks) { n.children.append(child) }
            case "gpu":
                n.isGPU = true
                n.parameters.append(Parameter(name: "nccl.gpu", value: attributeText(c)))
                for sub in c.children {
                    switch sub.name {
                    case "nvlink":
                        guard let target = sub["target"], let count = sub["count"].flatMap({ Int($0) }), count > 0 else {
                            bag.warning(sub.line, "<nvlink> without a target or a positive count ignored")
                            continue
                        }
                        nvlinks.append(NVLinkEntry(gpuBusid: bdf, target: target.lowercased(), count: count, targetClass: sub["tclass"], line: sub.line))
                    case "c2c":
                        n.parameters.append(Parameter(name: "nccl.c2c", value: attributeText(sub)))
                    default:
                        bag.warning(sub.line, "<\(sub.name)> under <gpu> ignored")
                    }
                }
            case "nic":
                n.isNIC = true
                if n.name == nil { n.name = c.children(named: "net").first?["name"] }
                n.parameters.append(Parameter(name: "nccl.nic", value: attributeText(c)))
                for net in c.children(named: "net") { n.parameters.append(Parameter(name: "nccl.net", value: attributeText(net))) }
            case "pcilink":
                n.parameters.append(Parameter(name: "nccl.pcilink", value: attributeText(c)))
            default:
                bag.warning(c.line, "<\(c.name)> under <pci> ignored")
            }
        }
        // NCCL_TOPO_FILE inputs often list the PCI tree only (NCCL adds <gpu> and <nic> at run time): say so, so an
        // export does not add elements the input did not have.
        let cls = e["class"].flatMap { PCIClass.hexValue($0) }.map { $0 >> 16 }
        if cls == 0x03, !n.isGPU { n.parameters.append(Parameter(name: "nccl.no-gpu-element", value: "true")) }
        if cls == 0x02, !n.isNIC { n.parameters.append(Parameter(name: "nccl.no-nic-element", value: "true")) }
        return n
    }

    /// `link_speed`/`link_width` as NCCL reads them (topo.cc, ncclTopoAddPci): a width of 0 (or empty) is 16
    /// ("Manage cases where speed was not indicated in /sys"), a speed is looked up in kvDictPciGen with
    /// 8 GT/s as fallback. Each such reading is a warning, and the string as written is kept for export.
    static func linkParameters(_ e: XMLElement, into parameters: inout [Parameter], bag: inout DiagnosticBag) {
        if let speed = e["link_speed"] {
            let (g, known) = ncclLinkSpeed(speed)
            if !known {
                bag.warning(e.line, "link_speed \"\(speed)\" is not in NCCL's table (src/graph/topo.cc, kvDictPciGen): NCCL falls back to 8 GT/s per lane, and so does the model (\(g.speedText))")
            }
            if speed != g.sysfsSpeedText { parameters.append(Parameter(name: "nccl.link_speed", value: speed)) }
        }
        if let width = e["link_width"], Int(width).map({ $0 <= 0 }) ?? true {
            bag.warning(e.line, "link_width \"\(width)\": NCCL takes x16 when the width is 0 or unreadable (src/graph/topo.cc, ncclTopoAddPci: \"if (width == 0) width = 16\"), and so does the model")
            parameters.append(Parameter(name: "nccl.link_width", value: width))
        }
    }

    /// Adds the GPU links and the `<cpu>` parameters to an assembled import.
    static func attach(_ extras: Extras, to result: inout ImportResult, file: String) {
        var bag = DiagnosticBag(file: file)
        var nameOf: [BDF: String] = [:]
        var address = [String?](repeating: nil, count: result.topology.devices.count)
        for f in result.enumeration.functions { if let d = f.device, address[d] == nil { address[d] = f.bdf.description } }
        for (i, d) in result.topology.devices.enumerated() {
            if let busid = (d.parameters.last { $0.name == "nccl.busid" }?.value ?? address[i]).flatMap({ BDF($0.lowercased()) }) {
                nameOf[busid] = d.name
            }
            // The NCCL busid stays only where the topology's own address differs (virtual switches, renumbered buses).
            result.topology.devices[i].parameters.removeAll { $0.name == "nccl.busid" && $0.value == address[i] }
        }
        for l in extras.nvlinks {
            guard let a = nameOf[l.gpuBusid] else {
                bag.warning(l.line, "<nvlink> of \(l.gpuBusid) ignored: its GPU was left out")
                continue
            }
            let cls = l.targetClass.flatMap { PCIClass.hexValue($0) }
            if cls.map({ $0 >> 16 == 0x03 }) ?? false {
                // tclass 0x03xxxx: the target is a GPU (topo.cc ncclTopoAddNvLinks, targetType == GPU).
                guard let target = BDF(l.target), let b = nameOf[target] else {
                    bag.warning(l.line, "<nvlink target=\"\(l.target)\"> of \(a) names a GPU that is not in the file: kept as a link to an NVSwitch named \(l.target)")
                    result.topology.gpuLinks.append(GPULink(kind: .nvswitch, a: a, fabricSwitch: l.target, count: l.count, targetClass: l.targetClass))
                    continue
                }
                if b == a {
                    bag.warning(l.line, "<nvlink target=\"\(l.target)\"> of \(a) points at the GPU itself (NCCL's self-loop: NVML reported the GPU's own address as the far end): kept as written, it joins no pair of GPUs and gives no NV# class")
                }
                result.topology.gpuLinks.append(GPULink(kind: .nvlink, a: a, b: b, count: l.count))
            } else {
                // NVSwitch (0x068000), hidden switch (fffffff:ffff:ff, which NCCL takes as an NVSwitch), or a CPU.
                let keep = (l.targetClass == nil || l.targetClass == ncclNVSwitchClass) ? nil : l.targetClass
                if let c = keep, c != ncclNVSwitchClass, cls != 0x068001 {
                    bag.warning(l.line, "<nvlink tclass=\"\(c)\"> of \(a): NCCL reads an unknown class as a PCI node; kept as a link to '\(l.target)'")
                }
                result.topology.gpuLinks.append(GPULink(kind: .nvswitch, a: a, fabricSwitch: l.target, count: l.count, targetClass: keep))
            }
        }
        // The <cpu> attributes go on every root complex of that NUMA node (the topology has no other place per socket).
        var placed = Set<Int>()
        for r in result.topology.rootComplexes.indices {
            let s = result.topology.rootComplexes[r].socket
            if let ps = extras.cpuParameters[s] {
                result.topology.rootComplexes[r].parameters.append(contentsOf: ps)
                placed.insert(s)
            }
        }
        for s in extras.cpuParameters.keys.sorted() where !placed.contains(s) {
            bag.warning(nil, "<cpu numaid=\"\(s)\"> has no PCI device: its attributes are not kept (the topology holds them on root complexes)")
        }
        result.warnings.append(contentsOf: bag.diagnostics)
    }

    /// PCI class NCCL writes for an NVSwitch (PCI_NVSWITCH_CLASS, src/graph/xml.h).
    static let ncclNVSwitchClass = "0x068000"

    /// Rebuilds the PCI tree with the ports NCCL leaves out.
    struct Builder {
        var functions: [ImportedFunction] = []
        var hostBridges: [ImportedHostBridge] = []
        var bag: [Diagnostic] = []
        var usedDevfn: [BDF: Bool] = [:]
        /// Every busid of the input, so placeholder addresses never take one.
        var reserved = Set<BDF>()

        /// An address for a port that gets no bus number of its own (enumeration assigns it): in domain ffff,
        /// counting down from bus ff, never one the input uses (virtual switches live there too).
        mutating func placeholderBDF() -> BDF {
            for bus in stride(from: 0xFF, through: 0, by: -1) {
                for devfn in 0..<256 {
                    let b = BDF(segment: 0xFFFF, bus: UInt8(bus), device: UInt8(devfn >> 3), function: UInt8(devfn & 7))
                    if !reserved.contains(b), usedDevfn[b] == nil {
                        usedDevfn[b] = true
                        return b
                    }
                }
            }
            return BDF(segment: 0xFFFF, bus: 0, device: 0, function: 0)
        }

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

        /// Virtual switches: per NUMA node, one root complex in a PCI domain no device of the file uses, each
        /// virtual switch on a root port of its own, the devices below renumbered into that domain (device 0 below
        /// each downstream port, functions kept) since their own addresses belong to the hypervisor's view.
        mutating func buildVirtual(_ tops: [Node], cpus: [Int], allBusids used: Set<UInt16>) {
            guard !tops.isEmpty else { return }
            var next = 0xFFFF
            for cpu in cpus where tops.contains(where: { $0.cpu == cpu }) {
                while next > 0, used.contains(UInt16(next)) { next -= 1 }
                let segment = UInt16(next)
                next -= 1
                addHostBridge(segment, 0, cpu: cpu)
                var nextBus = 1
                var deviceBus: [BDF: UInt8] = [:]
                for t in tops where t.cpu == cpu {
                    let placed = remap(t, segment: segment, nextBus: &nextBus, deviceBus: &deviceBus)
                    _ = rootPort(for: placed, rootBus: 0)
                }
                if nextBus > 0x100 {
                    bag.append(Diagnostic(file: "", line: tops.first { $0.cpu == cpu }?.element.line, severity: .warning,
                        message: "the virtual switches of NUMA node \(cpu) hold more devices than one PCI domain's 255 buses: bus numbers repeat"))
                }
            }
        }

        func remap(_ n: Node, segment: UInt16, nextBus: inout Int, deviceBus: inout [BDF: UInt8]) -> Node {
            var m = n
            let key = BDF(segment: n.bdf.segment, bus: n.bdf.bus, device: n.bdf.device, function: 0)
            let bus: UInt8
            if let b = deviceBus[key] {
                bus = b
            } else {
                bus = UInt8(truncatingIfNeeded: min(nextBus, 0xFF))
                deviceBus[key] = bus
                nextBus += 1
            }
            m.bdf = BDF(segment: segment, bus: bus, device: 0, function: n.bdf.function)
            if !m.parameters.contains(where: { $0.name == "nccl.busid" }) {
                m.parameters.insert(Parameter(name: "nccl.busid", value: n.element["busid"] ?? n.bdf.description), at: 0)
            }
            if !n.children.isEmpty { nextBus += 1 }   // the switch's internal bus, right after its own
            m.children = n.children.sorted { $0.bdf < $1.bdf }.map { remap($0, segment: segment, nextBus: &nextBus, deviceBus: &deviceBus) }
            return m
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
            // A virtual switch's address is not a bus of this tree: enumeration numbers the bus below.
            p.secondaryBus = child.isVirtualSwitch ? nil : child.bdf.bus
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
            f.parameters = n.parameters
            if parent == nil {
                // On a root bus the model has no link for it: keep NCCL's strings as read, for export.
                for key in ["link_speed", "link_width"] where !f.parameters.contains(where: { $0.name == "nccl." + key }) {
                    if let v = n.element[key] { f.parameters.append(Parameter(name: "nccl." + key, value: v)) }
                }
            }
            if n.isVirtualSwitch {
                f.isSynthetic = true
                f.assumptions.append("virtual switch \(n.element["busid"] ?? ""): a hypervisor's flattened PCIe view, not a device; the devices below share it (PIX)")
                f.parameters.append(Parameter(name: "nccl.virtual-switch", value: "true"))
            }
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
                        : placeholderBDF()
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

        /// As NCCL reads them (see `linkParameters`): unknown speeds are 8 GT/s, widths of 0 or unreadable are x16.
        func link(_ e: XMLElement) -> (LinkGeneration?, Int?) {
            let g = e["link_speed"].map { NCCLImporter.ncclLinkSpeed($0).generation }
            let w = e["link_width"].map { Int($0).flatMap { $0 > 0 ? $0 : nil } ?? 16 }
            return (g, w)
        }
    }
}

/// Writes NCCL topology XML for a machine: one `<cpu>` per socket with the devices of its root complexes,
/// switches as nested `<pci>` (upstream port BDF, class 0x060400), endpoints with `<gpu>` or `<nic>` children
/// where the class says so, `<nvlink>` from the topology's GPU links. Root ports and downstream ports are left
/// out as NCCL leaves them out, so `NCCLImporter` reads the file back to the same tree, link speeds and widths.
/// What an NCCL import kept as `nccl.*` parameters is written back as it was read: busids of devices below
/// virtual switches, `<gpu>`, `<net>`, `<c2c>`, `<pcilink>` and `<cpu>` attributes, link strings NCCL reads
/// other than their plain meaning. xGMI links are not written (NCCL has no element for them).
public enum NCCLExporter {
    public static func write(_ loaded: LoadedTopology) -> String {
        let t = loaded.topology
        let e = loaded.enumeration
        let (children, rootBus) = t.childrenIndex()
        var x = XMLBuilder(declaration: false)
        var gpus = 0
        var nics = 0
        var linksOf: [String: [GPULink]] = [:]
        for l in t.gpuLinks { linksOf[l.a, default: []].append(l) }

        func parameter(_ d: Int, _ name: String) -> String? { t.devices[d].parameters.last { $0.name == name }?.value }
        func parameters(_ ps: [Parameter], _ name: String) -> [[(String, String?)]] {
            ps.filter { $0.name == name }.compactMap { NCCLImporter.attributes(ofParameter: $0.value) }
        }
        func busid(_ d: Int) -> String { parameter(d, "nccl.busid") ?? e.functions[d].bdf.description }
        func capability(_ d: Int) -> LinkCapability {
            let dev = t.devices[d]
            let above = dev.parent.map(capability) ?? t.rootComplexes[dev.rootComplex].defaultLink
            return LinkCapability(generation: dev.linkGeneration ?? above.generation, width: dev.linkWidth ?? above.width)
        }
        func attributes(_ d: Int, port: Int?) -> [(String, String?)] {
            let dev = t.devices[d]
            var a: [(String, String?)] = [("busid", busid(d)),
                                          ("class", "0x" + hex(dev.effectiveClassCode, 6)),
                                          ("vendor", "0x" + hex(dev.id.vendor, 4)), ("device", "0x" + hex(dev.id.device, 4)),
                                          ("subsystem_vendor", dev.subsystemID.map { "0x" + hex($0.vendor, 4) }),
                                          ("subsystem_device", dev.subsystemID.map { "0x" + hex($0.device, 4) })]
            if let port, dev.isPCIe {
                // As NCCL: the lower of the device's and its port's maximum speed and width; the string an import
                // read is written back when it still means that speed (or width) to NCCL.
                let mine = capability(d)
                let theirs = capability(port)
                let g = min(mine.generation, theirs.generation)
                let w = min(mine.width, theirs.width)
                let rawSpeed = parameter(d, "nccl.link_speed").flatMap { NCCLImporter.ncclLinkSpeed($0).generation == g ? $0 : nil }
                let rawWidth = parameter(d, "nccl.link_width").flatMap { w == 16 ? $0 : nil }
                a.append(("link_speed", rawSpeed ?? g.sysfsSpeedText))
                a.append(("link_width", rawWidth ?? String(w)))
            } else if port == nil {
                // A root-bus device has no link in the model; what an import read (often "" and "0") goes back as read.
                a.append(("link_speed", parameter(d, "nccl.link_speed")))
                a.append(("link_width", parameter(d, "nccl.link_width")))
            }
            return a
        }
        func pciLinks(_ d: Int) {
            for p in parameters(t.devices[d].parameters, "nccl.pcilink") { x.empty("pcilink", p) }
        }
        func gpu(_ d: Int) {
            let dev = t.devices[d]
            let attrs = parameters(dev.parameters, "nccl.gpu").first ?? [("dev", String(gpus)), ("rank", String(gpus))]
            gpus += 1
            let links = linksOf[dev.name] ?? []
            let c2c = parameters(dev.parameters, "nccl.c2c")
            if links.isEmpty && c2c.isEmpty {
                x.empty("gpu", attrs)
                return
            }
            x.open("gpu", attrs)
            for l in links {
                switch l.kind {
                case .nvlink:
                    guard let b = l.b, let peer = t.deviceIndex(named: b) else { continue }
                    x.empty("nvlink", [("target", busid(peer)), ("count", String(l.count)),
                                       ("tclass", l.targetClass ?? "0x" + hex(t.devices[peer].effectiveClassCode, 6))])
                case .nvswitch:
                    x.empty("nvlink", [("target", l.fabricSwitch), ("count", String(l.count)),
                                       ("tclass", l.targetClass ?? NCCLImporter.ncclNVSwitchClass)])
                case .xgmi:
                    continue
                }
            }
            for c in c2c { x.empty("c2c", c) }
            x.close("gpu")
        }
        func nic(_ d: Int) {
            let dev = t.devices[d]
            x.open("nic", parameters(dev.parameters, "nccl.nic").first ?? [])
            let nets = parameters(dev.parameters, "nccl.net")
            if nets.isEmpty {
                x.empty("net", [("name", dev.name), ("dev", String(nics))])
            } else {
                for n in nets { x.empty("net", n) }
            }
            nics += 1
            x.close("nic")
        }
        func device(_ d: Int, port: Int?) {
            let dev = t.devices[d]
            switch dev.kind {
            case .switchUpstreamPort, .pciBridge:
                let below = dev.kind == .pciBridge ? children[d].map { ($0, Int?.none) } : children[d].flatMap { dp in children[dp].map { ($0, Optional(dp)) } }
                let links = parameters(dev.parameters, "nccl.pcilink")
                if below.isEmpty && links.isEmpty {
                    x.empty("pci", attributes(d, port: port))
                } else {
                    x.open("pci", attributes(d, port: port))
                    for (c, p) in below { device(c, port: p) }
                    pciLinks(d)
                    x.close("pci")
                }
            case .endpoint:
                let cls = dev.effectiveClassCode >> 16
                let links = parameters(dev.parameters, "nccl.pcilink")
                let writesGPU = cls == 0x03 && parameter(d, "nccl.no-gpu-element") == nil
                let writesNIC = cls == 0x02 && parameter(d, "nccl.no-nic-element") == nil
                if writesGPU || writesNIC || !links.isEmpty {
                    x.open("pci", attributes(d, port: port))
                    if writesGPU { gpu(d) } else if writesNIC { nic(d) }
                    pciLinks(d)
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
            let own = t.rootComplexes.indices.filter { t.rootComplexes[$0].socket == s.id || t.sockets.isEmpty }
            let cpuParameters = own.map { t.rootComplexes[$0].parameters }.first { $0.contains { $0.name == "nccl.cpu" } } ?? []
            let cpuAttributes = parameters(cpuParameters, "nccl.cpu").first
                ?? [("numaid", String(s.id)), ("arch", x86 ? "x86_64" : "arm64"), ("vendor", vendor),
                    ("familyid", x86 && s.cpuFamily != 0 ? String(s.cpuFamily) : nil),
                    ("modelid", x86 ? s.cpuModel.map(String.init) : nil)]
            x.open("cpu", cpuAttributes)
            for r in own {
                for d in rootBus[r] where t.devices[d].endpoint?.endpointClass != .hostBridge {
                    device(d, port: nil)
                }
            }
            // <nic> elements NCCL attaches to the CPU itself, each followed by its <net>s.
            var open = false
            for p in cpuParameters {
                guard let attrs = NCCLImporter.attributes(ofParameter: p.value) else { continue }
                if p.name == "nccl.cpu-nic" {
                    if open { x.close("nic") }
                    x.open("nic", attrs)
                    open = true
                } else if p.name == "nccl.cpu-net", open {
                    x.empty("net", attrs)
                }
            }
            if open { x.close("nic") }
            x.close("cpu")
        }
        x.close("system")
        return x.text
    }
}
