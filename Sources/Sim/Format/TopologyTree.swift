// `simrun show`: the enumerated tree as lspci -tv draws it, with names, links, ACS control, BARs and windows.

public enum TopologyTree {
    public struct Options: Sendable {
        public var verbose = false
        public init(verbose: Bool = false) { self.verbose = verbose }
    }

    /// The tree as text. Each root complex is a `-[ssss:bb]-` root as in `lspci -tv`; each function line gives
    /// BDF, name, kind and vendor:device, the trained link (`downgraded` when below the device's capability),
    /// and ACS control as `SV+ TB- RR+ ...` for functions that have the capability.
    public static func text(_ t: Topology, _ e: Enumeration, acsControl: [ACSFlags?]? = nil, options: Options = Options()) -> String {
        var out = ""
        let header = "\(t.name): \(t.sockets.count) socket\(t.sockets.count == 1 ? "" : "s"), \(t.rootComplexes.count) root complex\(t.rootComplexes.count == 1 ? "" : "es"), \(e.functions.count) functions"
        out += header + "\n"
        if let cmd = nonEmpty(t.kernel.commandLine) { out += "kernel: \(cmd)\n" }
        out += acsControl == nil ? "ACS: control as firmware left it\n" : "ACS: control after Linux's boot-time enable\n"
        let children = e.childrenByBridge()
        var rootBus = [[Int]](repeating: [], count: t.rootComplexes.count)
        for (i, f) in e.functions.enumerated() where f.upstreamBridge == nil && f.physicalFunction == nil {
            rootBus[f.rootComplex].append(i)
        }
        var vfs = [[Int]](repeating: [], count: e.functions.count)
        for (i, f) in e.functions.enumerated() { if let pf = f.physicalFunction { vfs[pf].append(i) } }
        for (r, rc) in t.rootComplexes.enumerated() {
            let state = e.rootComplexes[r]
            var facts = ["socket \(rc.socket)"]
            if let hb = rc.hostBridgeID { facts.append("host bridge \(hb)") }
            if let name = rc.iommu, let u = t.iommus.first(where: { $0.name == name }) {
                facts.append("IOMMU \(u.name) \(u.kind.rawValue) \(u.mode.rawValue)")
            } else {
                facts.append("no IOMMU")
            }
            var p2p = "p2p \(rc.p2pForwarding.rawValue)"
            if let cap = rc.p2pRateCap { p2p += " \(cap)" }
            facts.append(p2p)
            out += "-[\(hex(state.segment, 4)):\(hex(state.busRange.lowerBound, 2))-\(hex(state.busRange.upperBound, 2))]- \(rc.name) (\(facts.joined(separator: ", ")))\n"
            if options.verbose {
                if let m = state.mmio32 { out += "   mmio32 \(m)\n" }
                if let m = state.mmio64 { out += "   mmio64 \(m)\n" }
            }
            var lines: [(Int, String)] = []
            if let hb = rc.hostBridgeID {
                lines.append((-1, "\(BDF(segment: state.segment, bus: state.busRange.lowerBound, device: 0, function: 0)) host-bridge \(hb)"))
            }
            for f in rootBus[r] { lines.append((f, "")) }
            for (k, item) in lines.enumerated() {
                let last = k == lines.count - 1
                if item.0 < 0 {
                    out += (last ? " \\-" : " +-") + item.1 + "\n"
                } else {
                    render(item.0, prefix: " ", last: last, t, e, children, vfs, acsControl, options, &out)
                }
            }
        }
        if !e.warnings.isEmpty {
            out += "\nwarnings:\n"
            for w in e.warnings { out += "  \(w.message)\n" }
        }
        return out
    }

    static func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    static func render(_ f: Int, prefix: String, last: Bool, _ t: Topology, _ e: Enumeration, _ children: [[Int]],
                       _ vfs: [[Int]], _ acsControl: [ACSFlags?]?, _ options: Options, _ out: inout String) {
        let fn = e.functions[f]
        out += prefix + (last ? "\\-" : "+-") + describe(f, t, e, acsControl) + "\n"
        let childPrefix = prefix + (last ? "  " : "| ")
        if options.verbose {
            for line in details(f, t, e, acsControl) { out += childPrefix + (children[f].isEmpty && vfs[f].isEmpty ? "   " : "|  ") + line + "\n" }
        }
        let below = vfs[f] + children[f]
        _ = fn
        for (k, c) in below.enumerated() {
            render(c, prefix: childPrefix, last: k == below.count - 1, t, e, children, vfs, acsControl, options, &out)
        }
    }

    static func kindText(_ f: Enumeration.Function, _ t: Topology) -> String {
        if f.isVirtualFunction { return "vf" }
        guard let d = f.device else { return f.kind.rawValue }
        if let ep = t.devices[d].endpoint { return t.devices[d].isPCIe ? ep.endpointClass.rawValue : "\(ep.endpointClass.rawValue), conventional PCI" }
        return f.kind.rawValue
    }

    static func describe(_ f: Int, _ t: Topology, _ e: Enumeration, _ acsControl: [ACSFlags?]?) -> String {
        let fn = e.functions[f]
        var s = "\(fn.bdf) \(fn.name) [\(kindText(fn, t)) \(fn.id)]"
        if let link = e.links[f] {
            s += " \(link.description)"
            if link.isDownTrained { s += " (downgraded from \(link.capability.description))" }
        }
        if let d = fn.device, let acs = t.devices[d].acs {
            let control = acsControl?[f] ?? acs.control
            s += " ACS \(control.plusMinus)"
        }
        if let d = fn.device, let sw = t.devices[d].switchInfo, let latency = sw.latency {
            s += " latency \(Duration.format(latency))"
        }
        return s
    }

    static func details(_ f: Int, _ t: Topology, _ e: Enumeration, _ acsControl: [ACSFlags?]? = nil) -> [String] {
        var lines: [String] = []
        let fn = e.functions[f]
        let bars: [BAR]
        if let d = fn.device { bars = t.devices[d].bars } else { bars = fn.physicalFunction.flatMap { t.devices[$0].endpoint?.sriov?.bars } ?? [] }
        for (k, bar) in bars.enumerated() {
            let r = AddressRange(start: e.barAddresses[f][k], size: bar.size)
            lines.append("BAR \(bar.index): \(r) [size=\(ByteSize.format(bar.size))] \(bar.is64Bit ? "64-bit" : "32-bit") \(bar.isPrefetchable ? "prefetchable" : "non-prefetchable")")
        }
        if let buses = e.busRanges[f] {
            var s = "bus \(hex(buses.lowerBound, 2))-\(hex(buses.upperBound, 2))"
            if let w = e.memoryWindows[f] { s += ", mem window \(w)" }
            if let w = e.prefetchableWindows[f] { s += ", pref window \(w)" }
            lines.append(s)
        }
        if let d = fn.device, let ep = t.devices[d].endpoint {
            for p in ep.p2pmem {
                lines.append("p2pmem: BAR \(p.bar) offset \(ByteSize.format(p.offset)) size \(p.size == 0 ? "rest of BAR" : ByteSize.format(p.size))\(p.isPublished ? ", published" : "")")
            }
            var caps: [String] = ["MPS \(e.maxPayload[f])", "MRRS \(e.maxReadRequest[f])", "tags \(ep.dma.tagBits)-bit"]
            if ep.supportsATS { caps.append("ATS") }
            if ep.supportsPASID { caps.append("PASID") }
            lines.append(caps.joined(separator: ", "))
        }
        if let d = fn.device, let acs = t.devices[d].acs {
            lines.append("ACSCap: \(acs.capability.lspciForm)")
            if acsControl != nil, acs.control != acsControl?[f] { lines.append("ACSCtl (firmware): \(acs.control.lspciForm)") }
        }
        return lines
    }

    /// The enumerated tree as JSON (`simrun show --format json`).
    public static func json(_ t: Topology, _ e: Enumeration, acsControl: [ACSFlags?]? = nil) -> JSON {
        let functions: [JSON] = e.functions.enumerated().map { i, fn in
            var fields: [(String, JSON)] = [
                ("bdf", .string(fn.bdf.description)), ("name", .string(fn.name)), ("kind", .string(kindText(fn, t))),
                ("id", .string(fn.id.description)),
                ("parent", fn.upstreamBridge.map { .string(e.functions[$0].bdf.description) } ?? .null),
                ("multifunction", .bool(fn.isMultifunction)),
            ]
            if let pf = fn.physicalFunction { fields.append(("physical_function", .string(e.functions[pf].bdf.description))) }
            if let link = e.links[i] {
                fields.append(("link", .object([("gen", .int(Int64(link.generation.rawValue))), ("width", .int(Int64(link.width))),
                                                ("capable_gen", .int(Int64(link.capability.generation.rawValue))),
                                                ("capable_width", .int(Int64(link.capability.width))),
                                                ("downgraded", .bool(link.isDownTrained))])))
            }
            if let d = fn.device, let acs = t.devices[d].acs {
                fields.append(("acs", .object([("cap", .string(acs.capability.plusMinus)),
                                               ("ctrl", .string((acsControl?[i] ?? acs.control).plusMinus))])))
            }
            let bars: [BAR] = fn.device.map { t.devices[$0].bars } ?? (fn.physicalFunction.flatMap { t.devices[$0].endpoint?.sriov?.bars } ?? [])
            if !bars.isEmpty {
                fields.append(("bars", .array(bars.enumerated().map { k, b in
                    .object([("index", .int(Int64(b.index))), ("address", .string("0x" + hex(e.barAddresses[i][k], 1))),
                             ("size", .int(Int64(b.size))), ("bits", .int(b.is64Bit ? 64 : 32)), ("prefetchable", .bool(b.isPrefetchable))])
                })))
            }
            if let buses = e.busRanges[i] {
                fields.append(("secondary", .string(hex(buses.lowerBound, 2))))
                fields.append(("subordinate", .string(hex(buses.upperBound, 2))))
                fields.append(("mem_window", e.memoryWindows[i].map { .string($0.description) } ?? .null))
                fields.append(("pref_window", e.prefetchableWindows[i].map { .string($0.description) } ?? .null))
            }
            return .object(fields)
        }
        let rcs: [JSON] = t.rootComplexes.enumerated().map { r, rc in
            let s = e.rootComplexes[r]
            return .object([("name", .string(rc.name)), ("segment", .string(hex(s.segment, 4))),
                            ("buses", .string("\(hex(s.busRange.lowerBound, 2))-\(hex(s.busRange.upperBound, 2))")),
                            ("host_bridge", JSON(rc.hostBridgeID?.description)), ("iommu", JSON(rc.iommu)),
                            ("p2p", .string(rc.p2pForwarding.rawValue))])
        }
        return .object([("topology", .string(t.name)), ("root_complexes", .array(rcs)), ("functions", .array(functions)),
                        ("warnings", .array(e.warnings.map(\.json)))])
    }
}
