// Mapping scripts (mapping/mapping.xsd, docs/MAPPING.md): user-space DMA mapping calls with the answer each
// expects, read with the topology's hardened libxml2 reader; every problem as `file:line: error: message`.

/// One script: its calls in order, and what they need from the machine.
public struct MappingScript: Sendable, Hashable {
    public enum API: String, Sendable, Hashable { case vfioType1 = "vfio-type1", iommufd }
    public var file: String
    public var name: String
    public var description: String
    public var api: API
    /// The `--device ROLE=BDF` the script runs on; nil: the plain `--device`.
    public var deviceRole: String?
    /// `vfio_iommu_type1.dma_entry_limit` the script's answers assume; nil: the default, 65535.
    public var dmaEntryLimit: Int?
    /// Bytes of anonymous memory behind `vaddr="buf+..."`.
    public var bufferSize: UInt64
    public var calls: [MappingCall]
}

/// A user address: into the script's buffer, or absolute.
public enum ScriptAddress: Sendable, Hashable, CustomStringConvertible {
    case buffer(offset: UInt64)
    case absolute(UInt64)
    public var description: String {
        switch self {
        case .buffer(let o): o == 0 ? "buf" : "buf+0x\(hex(o, 1))"
        case .absolute(let a): "0x\(hex(a, 1))"
        }
    }
}

/// One call of a script, with its expected answer.
public struct MappingCall: Sendable, Hashable {
    public enum Operation: Sendable, Hashable {
        case openGroup
        case setContainer
        case setIOMMU(type: UInt32)
        case getInfo
        case map(VFIODMAMap, vaddr: ScriptAddress)
        case unmap(VFIODMAUnmap)
        case fill(iova: UInt64)
        case ioasAlloc(attachDevice: Bool)
        case ioasIOVARanges
        case ioasAllowIOVAs([AddressRange])
        case ioasMap(flags: IOMMUFDMapFlags, vaddr: ScriptAddress, length: UInt64, iova: UInt64)
        case ioasUnmap(iova: UInt64, length: UInt64)
    }
    public var line: Int
    public var operation: Operation
    /// `ok` with the fields the script pins (`unmapped`, `iova-ranges`, `dma-avail`, `viable`), or an errno.
    public var expected: MappingAnswer
    public var what: String?

    /// The call as the output prints it.
    public var text: String {
        switch operation {
        case .openGroup: return "open-group"
        case .setContainer: return "set-container"
        case .setIOMMU(let t): return "set-iommu type=\(t == 3 ? "type1v2" : t == 1 ? "type1" : String(t))"
        case .getInfo: return "get-info"
        case .map(let m, let v):
            var s = "map iova=0x\(hex(m.iova, 1)) size=0x\(hex(m.size, 1)) vaddr=\(v) flags=0x\(hex(m.flags.rawValue, 1))"
            if m.argsz != 32 { s += " argsz=\(m.argsz)" }
            return s
        case .unmap(let u):
            var s = "unmap iova=0x\(hex(u.iova, 1)) size=0x\(hex(u.size, 1))"
            if u.flags.rawValue != 0 { s += " flags=0x\(hex(u.flags.rawValue, 1))" }
            if u.argsz != 24 { s += " argsz=\(u.argsz)" }
            return s
        case .fill(let iova): return "fill iova=0x\(hex(iova, 1))"
        case .ioasAlloc(let attach): return attach ? "ioas-alloc attach-device" : "ioas-alloc"
        case .ioasIOVARanges: return "ioas-iova-ranges"
        case .ioasAllowIOVAs(let r): return "ioas-allow-iovas \(r.map(\.description).joined(separator: ","))"
        case .ioasMap(let f, let v, let l, let i): return "ioas-map iova=0x\(hex(i, 1)) size=0x\(hex(l, 1)) vaddr=\(v) flags=0x\(hex(f.rawValue, 1))"
        case .ioasUnmap(let i, let l): return "ioas-unmap iova=0x\(hex(i, 1)) size=0x\(hex(l, 1))"
        }
    }
}

/// What a call answered: an errno, or success with named fields (in a fixed order, so answers compare as text).
public struct MappingAnswer: Sendable, Hashable, CustomStringConvertible {
    public var errno: Errno?
    public var fields: [Field]
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }
    public init(errno: Errno? = nil, fields: [Field] = []) {
        self.errno = errno
        self.fields = fields
    }
    public static let ok = MappingAnswer()
    public var description: String {
        if let errno { return errno.description }
        return (["ok"] + fields.map { "\($0.name)=\($0.value)" }).joined(separator: " ")
    }
    /// Whether `self`, an answer, is what `expected` asks: the same errno, or success with every pinned field equal.
    public func satisfies(_ expected: MappingAnswer) -> Bool {
        guard errno == expected.errno else { return false }
        return expected.fields.allSatisfy { f in fields.contains(f) }
    }
}

extension MappingScript {
    /// Reads and checks a script: the schema first, then every number, flag and errno, each with its line.
    public static func read(path: String) throws(DiagnosticError) -> MappingScript {
        try parse(try SafeXML.readFile(path), file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(DiagnosticError) -> MappingScript {
        let root = try SafeXML.load(bytes, file: file, schema: .mapping)
        var bag = DiagnosticBag(file: file)
        func number(_ e: XMLElement, _ name: String) -> UInt64? {
            guard let text = e[name] else { return nil }
            guard let v = parseInteger(text) else {
                bag.error(e.line, "<\(e.name)> \(name)=\"\(text)\" is out of range (at most 0xffffffffffffffff)")
                return nil
            }
            return v
        }
        func address(_ e: XMLElement) -> ScriptAddress {
            let text = e["vaddr"] ?? "buf"
            if text == "buf" { return .buffer(offset: 0) }
            if text.hasPrefix("buf+") {
                guard let v = parseInteger(text.dropFirst(4)) else {
                    bag.error(e.line, "<\(e.name)> vaddr=\"\(text)\": offset out of range")
                    return .buffer(offset: 0)
                }
                return .buffer(offset: v)
            }
            guard let v = parseInteger(text) else {
                bag.error(e.line, "<\(e.name)> vaddr=\"\(text)\" is out of range (at most 0xffffffffffffffff)")
                return .absolute(0)
            }
            return .absolute(v)
        }
        func flags(_ e: XMLElement, _ fallback: String, _ names: [String: UInt32]) -> UInt32 {
            let text = e["flags"] ?? fallback
            if text.hasPrefix("0x") || text.hasPrefix("0X") {
                guard let v = parseInteger(text), v <= UInt64(UInt32.max) else {
                    bag.error(e.line, "<\(e.name)> flags=\"\(text)\" is out of range (at most 0xffffffff)")
                    return 0
                }
                return UInt32(v)
            }
            var value: UInt32 = 0
            for name in text.split(separator: ",") {
                guard let bit = names[String(name)] else {
                    bag.error(e.line, "<\(e.name)> unknown flag '\(name)' (known: \(names.keys.sorted().joined(separator: ", ")))")
                    continue
                }
                value |= bit
            }
            return value
        }
        func argsz(_ e: XMLElement, _ fallback: UInt32) -> UInt32 {
            guard let v = number(e, "argsz") else { return fallback }
            guard v <= UInt64(UInt32.max) else {
                bag.error(e.line, "<\(e.name)> argsz=\"\(e["argsz"] ?? "")\" is out of range (at most 0xffffffff)")
                return fallback
            }
            return UInt32(v)
        }
        func ranges(_ e: XMLElement) -> [AddressRange]? {
            guard let text = e["iova-ranges"] else { return nil }
            var out: [AddressRange] = []
            for part in text.split(separator: ",") {
                guard let r = AddressRange(part) else {
                    bag.error(e.line, "<\(e.name)> iova-ranges: '\(part)' is not START-END with START <= END, both at most 0xffffffffffffffff")
                    return nil
                }
                out.append(r)
            }
            return out
        }

        var calls: [MappingCall] = []
        for e in root.children where e.name != "description" {
            let expectText = e["expect"] ?? "ok"
            var expected = MappingAnswer.ok
            switch expectText {
            case "ok": break
            case "viable", "not-viable":
                guard e.name == "open-group" else {
                    bag.error(e.line, "<\(e.name)> expect=\"\(expectText)\": only <open-group> answers viable or not-viable")
                    continue
                }
                expected.fields = [.init("viable", expectText == "viable" ? "yes" : "no")]
            default:
                guard let errno = Errno(name: expectText) else {
                    bag.error(e.line, "<\(e.name)> expect=\"\(expectText)\": unknown errno (known: \(Errno.allCases.map(\.name).joined(separator: ", ")))")
                    continue
                }
                expected.errno = errno
            }
            let pinsFields = expected.errno == nil
            let operation: MappingCall.Operation
            switch e.name {
            case "open-group":
                if expectText == "ok" { bag.error(e.line, "<open-group> answers viable, not-viable or an errno, not ok") }
                operation = .openGroup
            case "set-container": operation = .setContainer
            case "set-iommu":
                let text = e["type"] ?? "type1v2"
                switch text {
                case "type1v2": operation = .setIOMMU(type: VFIOIOMMUType.type1v2)
                case "type1": operation = .setIOMMU(type: VFIOIOMMUType.type1)
                default:
                    guard let v = parseInteger(text), v <= UInt64(UInt32.max) else {
                        bag.error(e.line, "<set-iommu> type=\"\(text)\": type1v2, type1 or a number up to 0xffffffff")
                        continue
                    }
                    operation = .setIOMMU(type: UInt32(v))
                }
            case "get-info":
                if pinsFields, let r = ranges(e) { expected.fields.append(.init("iova-ranges", r.map(\.description).joined(separator: ","))) }
                if pinsFields, let d = number(e, "dma-avail") { expected.fields.append(.init("dma-avail", String(d))) }
                operation = .getInfo
            case "map":
                let f = flags(e, "read,write", ["read": 1, "write": 2, "vaddr": 4])
                operation = .map(VFIODMAMap(argsz: argsz(e, 32), flags: VFIODMAFlags(rawValue: f), vaddr: 0,
                                            iova: number(e, "iova") ?? 0, size: number(e, "size") ?? 0), vaddr: address(e))
            case "unmap":
                let f = flags(e, "", ["dirty-bitmap": 1, "all": 2, "vaddr": 4])
                if pinsFields, let u = number(e, "unmapped") { expected.fields.append(.init("unmapped", "0x" + hex(u, 1))) }
                operation = .unmap(VFIODMAUnmap(argsz: argsz(e, 24), flags: VFIODMAFlags(rawValue: f),
                                                iova: number(e, "iova") ?? 0, size: number(e, "size") ?? 0))
            case "fill": operation = .fill(iova: number(e, "iova") ?? 0)
            case "ioas-alloc": operation = .ioasAlloc(attachDevice: e["attach-device"] == "true" || e["attach-device"] == "1")
            case "ioas-iova-ranges":
                if pinsFields, let r = ranges(e) { expected.fields.append(.init("iova-ranges", r.map(\.description).joined(separator: ","))) }
                operation = .ioasIOVARanges
            case "ioas-allow-iovas": operation = .ioasAllowIOVAs(ranges(e) ?? [])
            case "ioas-map":
                var f = flags(e, "readable,writeable", ["fixed-iova": 1, "writeable": 2, "readable": 4])
                if e["iova"] != nil { f |= 1 }
                operation = .ioasMap(flags: IOMMUFDMapFlags(rawValue: f), vaddr: address(e), length: number(e, "size") ?? 0,
                                     iova: number(e, "iova") ?? 0)
            case "ioas-unmap":
                if pinsFields, let u = number(e, "unmapped") { expected.fields.append(.init("unmapped", "0x" + hex(u, 1))) }
                operation = .ioasUnmap(iova: number(e, "iova") ?? 0, length: number(e, "size") ?? 0)
            default:
                bag.error(e.line, "unknown call <\(e.name)>")
                continue
            }
            let isIOMMUFD = e.name.hasPrefix("ioas-")
            let api = root["api"] ?? "vfio-type1"
            if isIOMMUFD != (api == "iommufd") {
                bag.error(e.line, "<\(e.name)> is \(isIOMMUFD ? "an iommufd" : "a VFIO type1") call in a script with api=\"\(api)\"")
            }
            calls.append(MappingCall(line: e.line, operation: operation, expected: expected, what: e["what"]))
        }
        var limit: Int?
        if let v = number(root, "dma-entry-limit") {
            // The kernel takes any unsigned int; the scripts stay within its default (U16_MAX), which bounds <fill>.
            if v == 0 || v > 65535 { bag.error(root.line, "dma-entry-limit=\"\(v)\" must be between 1 and 65535") } else { limit = Int(v) }
        }
        let buffer = number(root, "buffer") ?? 0x20_0000
        if buffer == 0 || buffer > 1 << 30 { bag.error(root.line, "buffer=\"\(root["buffer"] ?? "")\" must be between 1 byte and 1 GiB") }
        if calls.isEmpty && !bag.hasErrors { bag.error(root.line, "the script has no calls") }
        try bag.throwIfErrors()
        return MappingScript(file: file, name: root["name"] ?? "", description: root.children(named: "description").first?.text ?? "",
                             api: API(rawValue: root["api"] ?? "vfio-type1") ?? .vfioType1, deviceRole: root["device"],
                             dmaEntryLimit: limit, bufferSize: buffer, calls: calls)
    }
}
