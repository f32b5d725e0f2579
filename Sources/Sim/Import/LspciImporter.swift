// simrun import lspci: `lspci -vvv` text (with or without -nn, -D), optionally `lspci -tv` for the tree.

/// Reads `lspci -vvv` output as pciutils' lspci.c and ls-caps.c print it, tolerating pasted text: tabs
/// turned into spaces, lines wrapped by a terminal or a mail client, stray lines. What cannot be read is
/// reported with its line number; only input with no device at all is an error.
public enum LspciImporter {
    public static func read(path: String, treePath: String? = nil, options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        let text = try readText(path)
        let tree = try treePath.map { p throws(DiagnosticError) in try readText(p) }
        let m = try machine(text: text, file: path, tree: tree, treeFile: treePath, names: options.pciNames)
        return try TopologyAssembler.assemble(m, options: options)
    }

    static func readText(_ path: String) throws(DiagnosticError) -> String {
        let bytes = try SafeXML.readFile(path, limits: XMLLimits(maxBytes: 64 << 20))
        if bytes.contains(0) { throw DiagnosticError(file: path, "file contains NUL bytes: not lspci text output") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses the text into facts; throws when no device header is found. An `lspci -tv` tree may come as a file
    /// of its own or pasted in the same text (its lines are taken out of the `-vvv` part, keeping line numbers).
    /// `names`: pci.ids names to read vendor:device back from when the paste has no `-nn` (nil: they stay unknown).
    public static func machine(text: String, file: String, tree: String? = nil, treeFile: String? = nil,
                               names: PCINames? = nil) throws(DiagnosticError) -> ImportedMachine {
        var vvvText = text
        var treeText = tree
        var treeName = treeFile ?? "<tree>"
        if tree == nil, let (rest, inline) = splitInlineTree(text) {
            vvvText = rest
            treeText = inline
            treeName = file
        }
        var parser = LspciParser(file: file, names: names)
        parser.parse(vvvText)
        var treeParser: LspciTreeParser?
        if let treeText {
            var t = LspciTreeParser(file: treeName)
            t.parse(treeText)
            treeParser = t
        }
        guard !parser.devices.isEmpty || treeParser.map({ !$0.parents.isEmpty }) == true else {
            var bag = DiagnosticBag(file: file)
            bag.append(contentsOf: parser.bag.diagnostics)
            bag.error(nil, "no lspci device found (expected lines like '0000:00:01.0 PCI bridge [0604]: ...' from lspci -vvv)")
            throw DiagnosticError(bag.sorted)
        }
        var m = ImportedMachine(format: "lspci", origin: file)
        m.sources = ["devices, IDs, class, revision: the device header lines and Subsystem:",
                     "BARs: Region N:; bridge windows: Memory/Prefetchable memory behind bridge:; bus numbers: Bus:",
                     "port type, MPS, MRRS, links: Capabilities: Express (DevCap, DevCtl, LnkCap, LnkSta, LnkCtl, DevCap2, DevCtl2)",
                     "ACS: ACSCap/ACSCtl; ATS, PASID, SR-IOV: their capability lines; switch chips: Device Serial Number",
                     "drivers: Kernel driver in use:; NUMA node:, IOMMU group: lines"]
        var functions = parser.devices
        var treeParents: [BDF: BDF?]?
        if let t = treeParser {
            parser.bag.append(contentsOf: t.bag.diagnostics)
            if t.parents.isEmpty {
                parser.bag.warning(nil, "\(treeName): no lspci -tv tree found; the tree comes from the bridges' Bus: lines")
            } else {
                treeParents = t.parents
                m.sources.append("tree: lspci -tv (\(treeName == file ? "pasted with the -vvv text" : treeName))")
                let ids = fillIDsFromTree(t, &functions, bag: &parser.bag)
                addTreeOnlyFunctions(t, to: &functions, bag: &parser.bag, file: treeName == file ? nil : treeName)
                if ids > 0 { m.sources.append("vendor:device of \(ids) function\(ids == 1 ? "" : "s") the -vvv text lists without -nn: the lspci -tvnn tree") }
            }
        }
        if treeParents == nil, !parser.pathParents.isEmpty {
            // lspci -PP: every header names the bridges above it; a header without a path sits on a root bus.
            var paths = parser.pathParents
            for b in parser.plainHeaders where paths[b] == nil { paths[b] = .some(nil) }
            // Bridges a path names but the text does not list (lspci -s filtered them out) are placed from the paths.
            let listed = Set(functions.map(\.bdf))
            var pathOnly: [BDF] = []
            for (b, info) in parser.pathBridges.sorted(by: { $0.key < $1.key }) where !listed.contains(b) {
                var f = ImportedFunction(bdf: b, line: info.line)
                f.isTreeOnly = true
                f.secondaryBus = info.secondary
                f.classCode = 0x060400
                f.assumptions.append("seen only in lspci -PP path prefixes: a bridge, its place and secondary bus from the paths, nothing else known")
                functions.append(f)
                paths[b] = .some(info.parent)
                pathOnly.append(b)
            }
            if let first = pathOnly.first {
                parser.bag.warning(parser.pathBridges[first]?.line, "\(pathOnly.count) bridge\(pathOnly.count == 1 ? "" : "s") only in -PP path prefixes (\(pathOnly.prefix(6).map(\.description).joined(separator: ", "))\(pathOnly.count > 6 ? ", ..." : "")): imported from the paths; class details, link, BARs and ACS unknown")
            }
            treeParents = paths
            m.sources.append("tree: the lspci -PP path prefixes of the device headers")
        }
        if treeParents == nil { m.sources.append("tree: the bridges' Bus: primary/secondary/subordinate lines") }
        // Names that did not read back to an ID, said only where nothing else (a hex dump, the -tvnn tree) gave one.
        let withID = Set(functions.filter { $0.id != nil }.map(\.bdf))
        for (bdf, line, why) in parser.idsNotFromNames where !withID.contains(bdf) {
            parser.bag.warning(line, "\(bdf): no -nn, and its name does not read back to one vendor:device (\(why))")
        }
        markVirtualFunctions(&functions, bag: &parser.bag)
        if functions.contains(where: { $0.acs != nil }) {
            m.assumptions.append(ImportedMachine.liveACSControl)
        }
        assignParents(&functions, tree: treeParents, bag: &parser.bag)
        if parser.hexDumped > 0 {
            m.sources.append("configuration space: the lspci -x hex dumps of \(parser.hexDumped) function\(parser.hexDumped == 1 ? "" : "s") (port type, links, MPS, ACS, DSN decoded from the bytes; the text fills in BAR sizes, driver, NUMA node, IOMMU group)")
            if !parser.shortHexDumps.isEmpty {
                let sizes = parser.shortHexDumps.sorted { $0.key < $1.key }.map { "\($0.value) of \($0.key) bytes" }.joined(separator: ", ")
                m.assumptions.append("hex dumps shorter than 256 bytes (\(sizes); 64 is lspci -x, or -xxx run as non-root): the capabilities there come from the text")
            }
        }
        if parser.accessDenied > 0 {
            m.assumptions.append("lspci could not read the capabilities of \(parser.accessDenied) function\(parser.accessDenied == 1 ? "" : "s") (<access denied>: run as root): port type, link, MPS, ACS unknown there")
        }
        if functions.contains(where: { $0.iommuGroup != nil }) { m.hasIOMMUGroups = true }
        m.functions = functions
        m.leftOut = parser.leftOut.map { ImportedMachine.LeftOut(bdf: $0.0, reason: $0.1, line: $0.2) }
        m.diagnostics = parser.bag.diagnostics
        return m
    }

    /// Takes the lines of an `lspci -tv` tree out of a pasted text; nil when it has none. Both parts keep every
    /// line (blanked where it belongs to the other), so line numbers stay those of the file.
    static func splitInlineTree(_ text: String) -> (vvv: String, tree: String)? {
        let rows = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        var isTree = rows.map { LspciTreeParser.isTreeLine($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        // Only a block that starts at a root (`-[0000:00]-` or `+-[0000:20]-`) is a tree; `+-` lines elsewhere are not.
        var inTree = false
        for k in rows.indices {
            if !isTree[k] { inTree = false; continue }
            let t = LspciParser.unquote(rows[k]).drop { $0 == " " || $0 == "|" || $0 == "\t" }.drop { $0 == "+" || $0 == "-" || $0 == "\\" }
            if t.hasPrefix("[") { inTree = true }
            isTree[k] = inTree
        }
        guard isTree.contains(true) else { return nil }
        let vvv = rows.indices.map { isTree[$0] ? "" : String(rows[$0]) }.joined(separator: "\n")
        let tree = rows.indices.map { isTree[$0] ? String(rows[$0]) : "" }.joined(separator: "\n")
        return (vvv, tree)
    }

    /// Functions the tree shows that the `-vvv` text does not list: imported with what the tree says (place, a
    /// bridge's bus range, the ID `-tvnn` prints); everything else about them is unknown and reported so.
    /// `-tvnn` prints the IDs a `-vvv` without `-nn` leaves out: a fact of the same machine, taken (an ID read back
    /// from a name yields to it). Returns how many listed functions took their ID from the tree.
    static func fillIDsFromTree(_ tree: LspciTreeParser, _ functions: inout [ImportedFunction], bag: inout DiagnosticBag) -> Int {
        var filled = 0
        for k in functions.indices {
            guard let e = tree.entries[functions[k].bdf], let id = LspciParser.lastID(in: Substring(e.label)) else { continue }
            let readBack = functions[k].idReadBackFromName
            guard functions[k].id == nil || readBack else { continue }
            if readBack {
                if functions[k].id != id {
                    bag.warning(functions[k].line, "\(functions[k].bdf): its name read back to \(functions[k].id.map(\.description) ?? "?"), the lspci -tvnn tree says \(id): the tree is taken")
                }
                functions[k].dropNameReadBack()
            }
            functions[k].id = id
            filled += 1
        }
        return filled
    }

    static func addTreeOnlyFunctions(_ tree: LspciTreeParser, to functions: inout [ImportedFunction], bag: inout DiagnosticBag, file: String?) {
        let listed = Set(functions.map(\.bdf))
        let only = tree.entries.keys.filter { !listed.contains($0) }.sorted()
        guard !only.isEmpty else { return }
        for bdf in only {
            let e = tree.entries[bdf]!
            var f = ImportedFunction(bdf: bdf, line: e.line)
            f.file = file
            f.isTreeOnly = true
            f.id = LspciParser.lastID(in: Substring(e.label))
            if let sec = e.secondary {
                f.secondaryBus = sec
                f.subordinateBus = e.subordinate ?? sec
                f.classCode = 0x060400          // drawn with a bus range: a PCI-to-PCI bridge
            }
            f.assumptions.append("seen only in the lspci -tv tree\(file.map { " (\($0))" } ?? ""): its place\(e.secondary != nil ? ", bus range" : "")\(f.id != nil ? ", ID" : "") from the tree, nothing else known")
            functions.append(f)
        }
        let shown = only.prefix(6).map(\.description).joined(separator: ", ") + (only.count > 6 ? ", ..." : "")
        let where_ = file.map { "\($0):\(tree.entries[only[0]]!.line)" }
        bag.warning(file == nil ? tree.entries[only[0]]!.line : nil,
                    "\(only.count) function\(only.count == 1 ? "" : "s") only in the lspci -tv tree\(where_.map { " (first at \($0))" } ?? "") (\(shown)): imported with what the tree says; class, link, BARs and ACS unknown")
    }

    /// lspci lists enabled VFs as functions of their own; they follow from the PF's SR-IOV capability
    /// (routing ID = PF + First VF Offset + VF Stride x i), which also gives their BAR sizes lspci leaves out.
    /// A function that has an SR-IOV capability itself, or whose device ID is not the VF Device ID, is another
    /// PF, never a VF (a missing VF offset line would otherwise make the second PF the first VF).
    static func markVirtualFunctions(_ functions: inout [ImportedFunction], bag: inout DiagnosticBag) {
        for pf in functions.indices {
            guard let s = functions[pf].sriov, s.enabledVFs > 0 else { continue }
            let base = Int(functions[pf].bdf.requesterID)
            // Offset and stride are 16-bit fields (SR-IOV capability); the text may say anything, so clamp first.
            let offset = min(max(s.offset ?? 1, 0), 0xFFFF), stride = min(max(s.stride ?? 1, 0), 0xFFFF)
            for i in 0..<min(s.enabledVFs, 0x10000) {
                let rid = base + offset + stride * i
                guard rid <= 0xFFFF else { break }
                let bdf = BDF(segment: functions[pf].bdf.segment, requesterID: UInt16(rid))
                guard let vf = functions.firstIndex(where: { $0.bdf == bdf }) else { continue }
                let candidate = functions[vf]
                if candidate.sriov != nil || (s.vfDevice != nil && candidate.id != nil && candidate.id?.device != s.vfDevice) {
                    bag.warning(candidate.line, "\(bdf) sits where \(functions[pf].bdf)'s VF \(i) would be, but \(candidate.sriov != nil ? "has an SR-IOV capability of its own" : "its device ID is not the VF Device ID"): kept as a physical function")
                    continue
                }
                functions[vf].isVirtualFunction = true
                if i == 0 {
                    for k in functions[pf].sriov!.bars.indices where functions[pf].sriov!.bars[k].size == 0 {
                        let index = functions[pf].sriov!.bars[k].index
                        if let size = functions[vf].bars.first(where: { $0.index == index })?.size { functions[pf].sriov!.bars[k].size = size }
                    }
                }
            }
        }
    }

    /// Parents from the -tv tree, else from the bridges' secondary bus numbers.
    static func assignParents(_ functions: inout [ImportedFunction], tree: [BDF: BDF?]?, bag: inout DiagnosticBag) {
        if let tree {
            for i in functions.indices {
                if let p = tree[functions[i].bdf] {
                    // A parent the input does not list stays named: the assembler reports the function as left out.
                    functions[i].parent = p
                } else {
                    bag.warning(functions[i].line, "\(functions[i].bdf) is not in the lspci -tv tree; its place comes from the Bus: lines")
                    functions[i].parent = parentByBus(functions[i], functions)
                }
            }
            return
        }
        var reported = Set<UInt16>()
        for i in functions.indices {
            functions[i].parent = parentByBus(functions[i], functions)
            let f = functions[i]
            if f.parent == nil, let range = functions.first(where: { b in
                b.bdf.segment == f.bdf.segment && b.secondaryBus.map { $0 < f.bdf.bus } == true && b.subordinateBus.map { $0 >= f.bdf.bus } == true
            }), !reported.contains(UInt16(f.bdf.bus)) {
                reported.insert(UInt16(f.bdf.bus))
                bag.warning(f.line, "bus \(hex(f.bdf.bus, 2)) lies below \(range.bdf) but no bridge in the input has it as its secondary bus (a bridge is missing or unreadable); taken as a root bus")
            }
            if f.parent == nil, f.bdf.bus != 0, !reported.contains(UInt16(f.bdf.bus)) {
                // Root buses other than 00 exist (AMD EPYC, multi-socket), but so do pastes that leave the bridge out.
                reported.insert(UInt16(f.bdf.bus))
                bag.warning(f.line, "no bridge in the input leads to bus \(hex(f.bdf.bus, 2)): taken as a root bus of its own (give the lspci -tv tree if a bridge leads there)")
            }
        }
    }

    static func parentByBus(_ f: ImportedFunction, _ all: [ImportedFunction]) -> BDF? {
        all.first { $0.bdf != f.bdf && $0.bdf.segment == f.bdf.segment && $0.secondaryBus == f.bdf.bus && $0.secondaryBus != $0.bdf.bus }?.bdf
    }
}

/// One logical line of lspci output: its key (`LnkSta`, `Region 0`, `Capabilities`) and value.
struct LspciLine {
    var key: String?
    var value: String
    var line: Int
}

struct LspciParser {
    var bag: DiagnosticBag
    var devices: [ImportedFunction] = []
    var accessDenied = 0
    /// Functions whose `-x`/`-xxx`/`-xxxx` hex dump was used, and how many of those dumps stop at 64 bytes.
    var hexDumped = 0
    var shortHexDumps: [Int: Int] = [:]
    /// `lspci -PP` path prefixes: the bridge directly above each function that had one (nil: root bus);
    /// empty when no header carried a path.
    var pathParents: [BDF: BDF?] = [:]
    /// Headers without a path in a file where others have one (root-bus functions under -PP).
    var plainHeaders: [BDF] = []
    /// Bridges named in -PP paths: the bridge above each, its secondary bus, the first line naming it.
    var pathBridges: [BDF: (parent: BDF?, secondary: UInt8, line: Int)] = [:]
    /// Functions the parser read but could not keep, with the reason and line (counted as dropped).
    var leftOut: [(BDF, String, Int)] = []

    /// pci.ids names to read IDs back from when the paste has no `-nn` (nil: IDs stay unknown).
    var names: PCINameIndex?
    /// Functions whose names did not read back to one ID (those that did carry it as an assumption).
    var idsNotFromNames: [(BDF, Int, String)] = []

    init(file: String, names: PCINames? = nil) {
        bag = DiagnosticBag(file: file)
        self.names = names.map(PCINameIndex.init)
    }

    /// A terminal wraps only lines at least this wide (tabs counted as 8); shorter lines end where they end.
    static let wrapColumn = 60

    /// A device header: `[DDDD:]BB:DD.F <class>: <names> [vvvv:dddd] (rev xx)`.
    static func headerBDF(_ line: Substring) -> (BDF, Substring)? {
        guard let h = headerWithPath(line), let bdf = h.path.last?.bdf else { return nil }
        return (bdf, h.rest)
    }

    /// One component of a header's address: `-PP` prints `BB:DD.F` after the first, `-P` only `DD.F` (the bus is
    /// then the secondary bus of the bridge before it).
    struct PathComponent {
        var bdf: BDF?
        var device: UInt8
        var function: UInt8
    }

    /// A device header, with `lspci -P`/`-PP`'s path prefix when there is one: `00:01.0/01:00.0/02:00.0 <class>: ...`
    /// names every bridge from the root bus down (pciutils' lspci.c `show_slot_path`: `-PP` prints `/%02x:%02x.%d`,
    /// `-P` `/%02x.%d`). Later components take the first one's domain.
    static func headerWithPath(_ line: Substring) -> (path: [PathComponent], rest: Substring)? {
        let t = unquote(line).drop { $0 == " " || $0 == "\t" }
        guard let space = t.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return nil }
        let components = t[..<space].split(separator: "/", omittingEmptySubsequences: false)
        var chain: [PathComponent] = []
        for (k, address) in components.enumerated() {
            let parts = address.split(separator: ":")
            if k > 0, parts.count == 1, address.count == 4 {
                let df = address.split(separator: ".")
                guard df.count == 2, df[0].count == 2, let d = UInt8(df[0], radix: 16), let f = UInt8(df[1]), d < 32, f < 8 else { return nil }
                chain.append(PathComponent(bdf: nil, device: d, function: f))
                continue
            }
            guard parts.count == 2 || parts.count == 3, parts[parts.count - 2].count == 2, parts.last!.count == 4,
                  parts.count == 2 || (k == 0 && parts[0].count >= 4 && parts[0].allSatisfy(\.isHexDigit)),
                  var bdf = BDF(address) else { return nil }
            if k > 0, let first = chain[0].bdf { bdf.segment = first.segment }
            chain.append(PathComponent(bdf: bdf, device: bdf.device, function: bdf.function))
        }
        let rest = t[space...].trimmingSpaces
        guard chain.first?.bdf != nil, rest.contains(":") else { return nil }
        return (chain, rest)
    }

    /// Fills in the buses `-P` leaves out from the bridges already read; nil when a bridge's secondary bus is unknown.
    func resolve(_ path: [PathComponent]) -> [BDF]? {
        var out: [BDF] = []
        for c in path {
            if let b = c.bdf { out.append(b); continue }
            guard let above = out.last, let bus = devices.last(where: { $0.bdf == above })?.secondaryBus else { return nil }
            out.append(BDF(segment: above.segment, bus: bus, device: c.device, function: c.function))
        }
        return out
    }

    /// A line without the `> ` markers a mail or forum reply puts before quoted text (lspci never starts a line
    /// with `>`).
    static func unquote(_ row: Substring) -> Substring {
        var r = row
        while r.hasPrefix(">") {
            r = r.dropFirst()
            if r.hasPrefix(" ") { r = r.dropFirst() }
        }
        return r
    }

    static func key(of text: Substring) -> String? {
        guard let colon = text.firstIndex(of: ":"), let first = text.first, first.isLetter else { return nil }
        let key = text[..<colon]
        guard key.count <= 40, key.allSatisfy({ $0.isLetter || $0.isNumber || " _/#().-".contains($0) }) else { return nil }
        let after = text.index(after: colon)
        guard after == text.endIndex || text[after] == " " || text[after] == "\t" else { return nil }
        return String(key)
    }

    mutating func parse(_ text: String) {
        var current: (bdf: BDF, header: Substring, line: Int)?
        var lines: [LspciLine] = []
        var hexRows: [HexRow] = []
        var stray = 0
        var firstStray: Int?
        func flush(_ p: inout LspciParser) {
            if let c = current { p.device(c.bdf, header: c.header, headerLine: c.line, lines: lines, hex: hexRows) }
            lines = []
            hexRows = []
        }
        var previousLength = 0
        var ignoring = false
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = n + 1
            var row = LspciParser.unquote(raw)
            if row.hasSuffix("\r") { row = row.dropLast() }
            defer { previousLength = row.replacingOccurrences(of: "\t", with: "        ").count }
            if row.trimmingSpaces.isEmpty { continue }
            if let (components, rest) = Self.headerWithPath(row) {
                flush(&self)
                guard let chain = resolve(components), let bdf = chain.last else {
                    bag.warning(lineNumber, "cannot tell the bus of '\(row.trimmingSpaces.prefix { $0 != " " })' (lspci -P path without the bridge's Bus: line; use -PP): device and its lines ignored")
                    current = nil
                    ignoring = true
                    continue
                }
                ignoring = false
                current = (bdf, rest, lineNumber)
                let path = chain.count > 1 ? Array(chain.dropLast()) : nil
                if let path {
                    pathParents[bdf] = .some(path.last)
                    let chain = path + [bdf]
                    for k in path.indices where pathBridges[path[k]] == nil {
                        pathBridges[path[k]] = (k == 0 ? nil : path[k - 1], chain[k + 1].bus, lineNumber)
                    }
                } else {
                    plainHeaders.append(bdf)
                }
                continue
            }
            if ignoring { continue }
            guard current != nil else {
                stray += 1
                if firstStray == nil { firstStray = lineNumber }
                continue
            }
            let indented = row.first == " " || row.first == "\t"
            let body = row.trimmingSpaces
            if let hex = Self.hexRow(body, line: lineNumber) {
                hexRows.append(hex)
            } else if body.hasPrefix("WARNING: Cannot show hex-dump") {
                bag.warning(lineNumber, "lspci could not dump this function's configuration space (\(body.dropFirst(9))): its text is used")
            } else if body.hasPrefix("!!!") {
                lines.append(LspciLine(key: nil, value: String(body), line: lineNumber))
            } else if let key = Self.key(of: body) {
                let value = body[body.index(after: body.firstIndex(of: ":")!)...].trimmingSpaces
                lines.append(LspciLine(key: key, value: String(value), line: lineNumber))
            } else if body.hasPrefix("$ ") || body.hasPrefix("# ") || body.hasPrefix("lspci ") {
                bag.warning(lineNumber, "a shell line, not lspci -vvv output; ignored: \(body.prefix(60))")
            } else if !lines.isEmpty {
                // A line without a key continues lspci's multi-line value. An unindented one after a line as wide
                // as a terminal is the rest of a wrapped line and joins without a space; after a shorter line
                // the paste lost its indentation, and it joins with one.
                // A wrap right after a complete flag (`CmpltRedir+`) or a comma still needs the space back.
                let previous = lines[lines.count - 1].value
                let tokenEnded = previous.last.map { "+-,;)]".contains($0) } ?? true
                let wrapped = !indented && previousLength >= LspciParser.wrapColumn && !tokenEnded
                lines[lines.count - 1].value += (wrapped ? "" : " ") + body
            } else if !indented, var c = current {
                c.header += body
                current = c
            } else {
                lines.append(LspciLine(key: nil, value: String(body), line: lineNumber))
            }
        }
        flush(&self)
        if stray > 0 {
            bag.warning(firstStray, "\(stray) line\(stray == 1 ? "" : "s") before the first device header ignored")
        }
    }

    /// One line of lspci's `-x`/`-xxx`/`-xxxx` hex dump: `%02x:` offset (three digits past 0xff), then 16 bytes
    /// (pciutils lspci.c `show_hex_dump`).
    struct HexRow {
        var offset: Int
        var bytes: [UInt8]
        var line: Int
    }

    static func hexRow(_ body: Substring, line: Int) -> HexRow? {
        guard let colon = body.firstIndex(of: ":") else { return nil }
        let label = body[..<colon]
        guard label.count == 2 || label.count == 3, let offset = Int(label, radix: 16), offset % 16 == 0, offset < 4096 else { return nil }
        let tokens = body[body.index(after: colon)...].split(separator: " ")
        guard (1...16).contains(tokens.count) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for t in tokens {
            guard t.count == 2, let b = UInt8(t, radix: 16) else { return nil }
            bytes.append(b)
        }
        return HexRow(offset: offset, bytes: bytes, line: line)
    }

    /// The configuration space a function's hex dump gives: the rows from offset 0 on, up to the first gap
    /// (a warning); nil without a dump.
    mutating func configSpace(_ bdf: BDF, _ rows: [HexRow]) -> PCIConfigSpace? {
        guard !rows.isEmpty else { return nil }
        var bytes: [UInt8] = []
        for r in rows {
            guard r.offset == bytes.count else {
                bag.warning(r.line, "\(bdf): hex dump row at offset \(hex(r.offset, 2)) where \(hex(bytes.count, 2)) was due: the dump is used up to offset \(hex(bytes.count, 2)) only")
                break
            }
            guard r.bytes.count == 16 else {
                bag.warning(r.line, "\(bdf): hex dump row at offset \(hex(r.offset, 2)) has \(r.bytes.count) bytes, not 16 (cut?): the dump is used up to offset \(hex(r.offset, 2)) only")
                break
            }
            bytes += r.bytes
        }
        return bytes.isEmpty ? nil : PCIConfigSpace(bytes: bytes)
    }

    mutating func device(_ bdf: BDF, header: Substring, headerLine: Int, lines: [LspciLine], hex hexRows: [HexRow] = []) {
        var f = ImportedFunction(bdf: bdf, line: headerLine)
        parseHeader(header, into: &f, line: headerLine)
        var context = ""          // capability the current lines belong to
        var statusCap: Bool?      // Status: Cap+ (a capability list exists)
        var denied = false
        var sawCapabilities = false
        var sawExtended = false
        var sectionEnded = false   // driver lines after the capabilities: lspci printed the whole list
        var sawWindowLines = false // the text states the bridge windows (the kernel's, `[disabled]` included)
        var unreadable: (reason: String, line: Int)?
        var vfBars: [ImportedBAR] = []
        var sriov: ImportedSRIOV?
        for l in lines {
            let v = l.value
            guard let key = l.key else {
                if v.hasPrefix("!!!") { unreadable = (String(v.dropFirst(3).trimmingSpaces), l.line) }
                continue
            }
            switch key {
            case "Capabilities":
                sawCapabilities = true
                if v.contains("<access denied>") || v.contains("<unavailable>") {
                    if !denied { accessDenied += 1 }
                    denied = true
                    context = "denied"
                    continue
                }
                if v.hasPrefix("[") , let close = v.firstIndex(of: "]") {
                    let tag = v[v.index(after: v.startIndex)..<close]
                    // The tag may be empty or blank in pasted text (`[ ]`): no offset then (a fuzz finding).
                    let offset = tag.split(separator: " ").first.flatMap { Int($0, radix: 16) } ?? 0
                    if tag.contains(" v") || offset >= 0x100 { sawExtended = true }
                    let name = v[v.index(after: close)...].trimmingSpaces
                    context = capabilityContext(name, into: &f, line: l.line)
                } else {
                    context = ""
                }
            case "Kernel driver in use":
                f.driver = v.split(separator: " ").first.map(String.init)
                context = ""
                sectionEnded = sawCapabilities
            case "Kernel modules":
                context = ""
                sectionEnded = sawCapabilities
            case "Subsystem" where context == "":
                f.subsystemID = Self.lastID(in: Substring(v)) ?? Self.leadingID(Substring(v))
            case "NUMA node":
                f.numaNode = Int(v.trimmingSpaces)
            case "IOMMU group":
                f.iommuGroup = Int(v.trimmingSpaces)
            case "Bus" where context == "":
                f.secondaryBus = Self.field("secondary=", in: v).flatMap { UInt8($0, radix: 16) }
                f.subordinateBus = Self.field("subordinate=", in: v).flatMap { UInt8($0, radix: 16) }
            case "Memory behind bridge":
                f.memoryWindow = Self.window(v)
                sawWindowLines = true
            case "Prefetchable memory behind bridge":
                f.prefetchableWindow = Self.window(v)
                sawWindowLines = true
            case _ where key.hasPrefix("Region "):
                guard let index = Int(key.dropFirst(7).trimmingSpaces), (0...5).contains(index) else {
                    bag.warning(l.line, "\(bdf): cannot read region number in '\(key)'")
                    continue
                }
                guard let bar = Self.region(index, v, sizeRequired: context != "sriov") else {
                    if !v.contains("[disabled]") { bag.warning(l.line, "\(bdf): cannot read '\(key): \(v)'") }
                    continue
                }
                if context == "sriov" { vfBars.append(bar) } else if context == "" || context == "denied" {
                    f.bars.append(bar)
                    f.barsKnown = true
                }
            case _ where context == "express" && ["DevCap", "DevCtl", "LnkCap", "LnkCtl", "LnkSta", "DevCap2", "DevCtl2"].contains(key):
                express(key, v, into: &f, line: l.line)
            case "Status" where context == "":
                statusCap = Self.flag("Cap", in: v)
            case "ACSCap" where context == "acs":
                if f.acs == nil { f.acs = ACSState(capability: [], control: [], controlSource: .observed) }
                f.acs?.capability = Self.acsFlags(v)
            case "ACSCtl" where context == "acs":
                if f.acs == nil { f.acs = ACSState(capability: [], control: [], controlSource: .observed) }
                f.acs?.control = Self.acsFlags(v)
            case "Initial VFs" where context == "sriov":
                let total = Self.number(after: "Total VFs:", in: v) ?? 0
                let num = Self.number(after: "Number of VFs:", in: v) ?? 0
                sriov = ImportedSRIOV(totalVFs: total, enabledVFs: num)
            case "VF offset" where context == "sriov":
                sriov?.offset = Int(v.split(separator: ",").first?.trimmingSpaces ?? "")
                sriov?.stride = Self.number(after: "stride:", in: v)
                sriov?.vfDevice = Self.field("Device ID:", in: v).flatMap { UInt16($0, radix: 16) }
            default:
                break
            }
        }
        if !vfBars.isEmpty { sriov?.bars = vfBars }
        if let s = sriov, s.totalVFs > 0 { f.sriov = s }
        let config = configSpace(bdf, hexRows).flatMap { usableConfig($0, for: &f, line: hexRows[0].line, unreadable: unreadable != nil) }
        let configHasExpress = config?.express.isKnown == true
        // lspci -vvv prints every region: a readable function without Region lines has no BARs. Without -v (a
        // header and its hex dump only) no region is printed at all: the BARs are unknown, not absent.
        if unreadable == nil && !lines.isEmpty { f.barsKnown = true }
        if let (reason, line) = unreadable {
            if f.id?.vendor == 0xFFFF || f.id == nil {
                bag.warning(line, "\(bdf): lspci could not read its configuration space (\(reason)) and the header has no IDs: left out")
                leftOut.append((bdf, "configuration space unreadable (\(reason)) and no IDs in the header", line))
                return
            }
            bag.warning(line, "\(bdf): lspci could not read its configuration space (\(reason)); only the header line is used")
        } else if denied {
            // Capabilities unknown: PCIe-ness, port type, ACS stay unknown.
        } else if f.portType != nil {
            // ACS lives in extended space: known (present or absent) when extended capabilities were listed, or
            // when the list is known whole (lspci prints the driver lines after it) and has none: then the kernel
            // finds no ACS either (an extended space it cannot read counts as none, pci_find_ext_capability).
            f.acsKnown = f.acs != nil || sawExtended || sectionEnded
            if sawExtended {
                if f.supportsATS == nil { f.supportsATS = false }
                if f.supportsPASID == nil { f.supportsPASID = false }
            }
        } else if (f.acs != nil || sawExtended) && !configHasExpress {
            // Extended capabilities (ACS among them) exist only in PCIe configuration space: the Express line is
            // missing from the paste, not from the function. Port type, link, MPS stay unknown; ACS is kept.
            f.isPCIe = true
            f.acsKnown = true
            bag.warning(headerLine, "\(bdf): extended capabilities\(f.acs != nil ? " (ACS)" : "") but no 'Capabilities: ... Express' line: taken as PCIe with an unknown port type")
        } else if sawCapabilities || statusCap == false {
            // A capability list without Express (or none at all): conventional PCI.
            f.isPCIe = false
            f.acsKnown = true
        }
        if let config {
            hexDumped += 1
            if config.bytes.count < 256 { shortHexDumps[config.bytes.count, default: 0] += 1 }
            let line = hexRows[0].line
            // The text's window lines are the kernel's windows (lspci prints its resources, `[disabled]` for none):
            // the registers fill them in only for a paste without them.
            for d in f.adopt(config, windows: !sawWindowLines) {
                bag.warning(line, "\(f.bdf): the text says \(d.fact) \(d.had), its configuration space dump \(d.config): the dump is taken")
            }
        }
        devices.append(f)
    }

    /// The dump to lay over a function's text, or nil (with a warning) when it is not this function's: all ones
    /// (the device did not answer: lspci's `!!! Unknown header type 7f`), another function's IDs or class (a paste
    /// that shuffled blocks). The text is lspci's decoding of the same bytes, so where the two differ otherwise the
    /// paste was damaged (a wrapped or cut line) and the bytes win.
    mutating func usableConfig(_ config: PCIConfigSpace, for f: inout ImportedFunction, line: Int, unreadable: Bool) -> PCIConfigSpace? {
        if unreadable || config.read8(0x0E) == 0xFF || (config.vendorID == 0xFFFF && config.classCode == 0xFF_FFFF) {
            bag.warning(line, "\(f.bdf): " + (unreadable ? "lspci could not read its configuration space" : "its hex dump reads all ones (the function did not answer)") + ": the dump is not used")
            return nil
        }
        let dumped = config.vendorID.flatMap { v in config.deviceID.map { PCIID(vendor: v, device: $0) } }
        // A VF's ID registers read 0xFFFF (PCIe Base §9.3.4.1.1; lspci names it from sysfs): no ID check then.
        if let dumped, dumped.vendor != 0xFFFF, let id = f.id, id.vendor != 0xFFFF, id != dumped {
            // An ID read back from the header's name is a reading, not what the paste printed: the bytes correct it.
            guard f.idReadBackFromName else {
                bag.warning(line, "\(f.bdf): its hex dump says \(dumped), its header \(id): the dump is not this function's and is not used")
                return nil
            }
            f.dropNameReadBack()
            f.id = nil
            bag.warning(line, "\(f.bdf): its name read back to \(id), its hex dump says \(dumped): the dump is taken")
        }
        // The class the header names (base and sub-class; lspci prints no prog-if without it) must be the dump's.
        if let c = f.classCode, let d = config.classCode, c >> 8 != d >> 8 {
            bag.warning(line, "\(f.bdf): its hex dump's class is \(hex(Int(d >> 8), 4)), its header's \(hex(Int(c >> 8), 4)): the dump is not this function's and is not used")
            return nil
        }
        // The dump confirms an ID read back from the name: no longer an assumption.
        if let dumped, f.id == dumped { f.dropNameReadBack() }
        return config
    }

    /// The port types as lspci spells them after `Express (vN)`, longest first; older pciutils printed type 7 as
    /// "PCI/PCI-X Bridge" (a 2012 dump in the fixtures).
    static let portTypeNames: [(PCIePortType, String)] = (PCIePortType.allCases.map { ($0, $0.lspciName) } + [(.pcieToPCIBridge, "PCI/PCI-X Bridge")])
        .sorted { $0.1.count > $1.1.count }

    /// Sets what a capability header says and returns the context for its lines.
    func capabilityContext(_ name: Substring, into f: inout ImportedFunction, line: Int) -> String {
        if name.hasPrefix("Express") {
            var rest = name.dropFirst(7).trimmingSpaces
            if rest.hasPrefix("("), let close = rest.firstIndex(of: ")") { rest = rest[rest.index(after: close)...].trimmingSpaces }
            if let t = Self.portTypeNames.first(where: { rest.hasPrefix($0.1) }) { f.portType = t.0 }
            f.isPCIe = true
            return "express"
        }
        if name.hasPrefix("Access Control Services") { return "acs" }
        if name.hasPrefix("Address Translation Service") { f.supportsATS = true; return "ats" }
        if name.hasPrefix("Process Address Space ID") { f.supportsPASID = true; return "pasid" }
        if name.hasPrefix("Single Root I/O Virtualization") { return "sriov" }
        if name.hasPrefix("Device Serial Number") {
            // `Device Serial Number 00-11-22-33-44-55-66-77`: eight bytes, most significant first.
            let bytes = name.dropFirst(20).trimmingSpaces.split(separator: "-")
            if bytes.count == 8, bytes.allSatisfy({ $0.count == 2 }), let n = UInt64(bytes.joined(), radix: 16) { f.serialNumber = n }
            return "dsn"
        }
        return "other"
    }

    mutating func express(_ key: String, _ v: String, into f: inout ImportedFunction, line: Int) {
        switch key {
        case "DevCap":
            f.maxPayloadSupported = Self.bytes(after: "MaxPayload", in: v)
        case "DevCtl":
            f.maxPayload = Self.bytes(after: "MaxPayload", in: v)
            f.maxReadRequest = Self.bytes(after: "MaxReadReq", in: v)
            if let ext = Self.flag("ExtTag", in: v) { f.tagBits = ext ? 8 : 5 }
        case "DevCtl2":
            if Self.flag("10BitTagReq", in: v) == true { f.tagBits = 10 }
        case "LnkCap":
            let (g, w) = Self.speedAndWidth(v)
            f.maxLinkGeneration = g
            f.maxLinkWidth = w
            if g == nil && w == nil { bag.warning(line, "\(f.bdf): cannot read speed and width in 'LnkCap: \(v)'") }
        case "LnkSta":
            let (g, w) = Self.speedAndWidth(v)
            f.linkGeneration = g
            f.linkWidth = w
        case "LnkCtl":
            if let rcb = Self.bytes(after: "RCB", in: v) { f.readCompletionBoundary = rcb }
        default:
            break
        }
    }

    mutating func parseHeader(_ header: Substring, into f: inout ImportedFunction, line: Int) {
        guard let colon = header.range(of: ": ") ?? header.range(of: ":") else { return }
        let classText = header[..<colon.lowerBound].trimmingSpaces
        let rest = header[colon.upperBound...]
        var class16: UInt16?
        if classText.count == 4, let c = UInt16(classText, radix: 16) {
            class16 = c                                           // lspci -n: "0604: 8086:1901"
            f.id = Self.leadingID(rest)
        } else if classText.hasSuffix("]"), let open = classText.lastIndex(of: "[") {
            class16 = UInt16(classText[classText.index(after: open)..<classText.index(before: classText.endIndex)], radix: 16)
        } else if classText.hasPrefix("Class "), let c = UInt16(classText.dropFirst(6).trimmingSpaces, radix: 16) {
            class16 = c
        } else {
            class16 = PCIClass.code(lspciName: classText)
            if class16 == nil { bag.warning(line, "\(f.bdf): unknown class name '\(classText)'") }
        }
        if f.id == nil { f.id = Self.lastID(in: rest) }
        if f.id == nil, let names {
            switch names.lookup(lspciName: rest) {
            case .id(let id):
                f.id = id
                f.assumptions.append(ImportedFunction.nameReadBackPrefix(id) + " in \(names.source) (the paste has no -nn)")
            case .deviceAmbiguous(let vendor, let candidates):
                idsNotFromNames.append((f.bdf, line, candidates == 0
                    ? "vendor \(hex(Int(vendor), 4)), but its device name is not in \(names.source)"
                    : "vendor \(hex(Int(vendor), 4)), but \(candidates) device IDs carry its name in \(names.source)"))
            case .unknown:
                idsNotFromNames.append((f.bdf, line, "no vendor name of \(names.source) (or more than one) begins it"))
            }
        }
        let progIf = Self.field("(prog-if", in: String(rest)).flatMap { UInt8($0.prefix(2), radix: 16) } ?? 0
        if let c = class16 { f.classCode = UInt32(c) << 8 | UInt32(progIf) }
        if let r = Self.field("(rev", in: String(rest)) { f.revision = UInt8(r.prefix(2), radix: 16) }
    }

    // MARK: - Field readers

    /// The last `[vvvv:dddd]` in a text (vendor and device names may hold other brackets).
    static func lastID(in text: Substring) -> PCIID? {
        var found: PCIID?
        var i = text.startIndex
        while let open = text[i...].firstIndex(of: "[") {
            let end = text.index(open, offsetBy: 11, limitedBy: text.endIndex) ?? text.endIndex
            if text.distance(from: open, to: end) == 11, text[text.index(before: end)] == "]",
               let id = PCIID(text[text.index(after: open)..<text.index(before: end)]) {
                found = id
            }
            i = text.index(after: open)
        }
        return found
    }

    /// `8086:1901 (rev 07)` as lspci -n prints it.
    static func leadingID(_ text: Substring) -> PCIID? {
        PCIID(text.trimmingSpaces.prefix(9))
    }

    /// The word after a marker: `secondary=01,` -> `01`.
    static func field(_ marker: String, in text: String) -> String? {
        guard let r = text.range(of: marker) else { return nil }
        let word = text[r.upperBound...].trimmingSpaces.prefix { $0.isHexDigit || $0.isLetter }
        return word.isEmpty ? nil : String(word)
    }

    static func number(after marker: String, in text: String) -> Int? {
        field(marker, in: text).flatMap { Int($0.prefix { $0.isNumber }) }
    }

    /// `MaxPayload 256 bytes` -> 256.
    static func bytes(after marker: String, in text: String) -> Int? {
        guard let r = text.range(of: marker) else { return nil }
        let digits = text[r.upperBound...].trimmingSpaces.prefix { $0.isNumber }
        return Int(digits)
    }

    /// `ExtTag+` -> true, `ExtTag-` -> false; the name must start a word.
    static func flag(_ name: String, in text: String) -> Bool? {
        var search = text[...]
        while let r = search.range(of: name) {
            let before = r.lowerBound == text.startIndex ? " " : text[text.index(before: r.lowerBound)]
            if (before == " " || before == "\t" || before == ",") && r.upperBound < text.endIndex {
                let sign = text[r.upperBound]
                if sign == "+" { return true }
                if sign == "-" { return false }
            }
            search = text[r.upperBound...]
        }
        return nil
    }

    /// ACSCap/ACSCtl flags. lspci prints them on one line; a paste may wrap it anywhere, even inside a name, so
    /// the names are looked for with the white space taken out (no ACS flag name contains another).
    static func acsFlags(_ text: String) -> ACSFlags {
        let compact = String(text.unicodeScalars.filter { $0 != " " && $0 != "\t" })
        var flags = ACSFlags()
        for (bit, _, name) in ACSFlags.named where compact.contains(name + "+") { flags.insert(bit) }
        return flags
    }

    /// `Speed 16GT/s (ok), Width x16 (downgraded)`, `Port #0, Speed 8GT/s, Width x4`, wrap-tolerant.
    static func speedAndWidth(_ text: String) -> (LinkGeneration?, Int?) {
        var generation: LinkGeneration?
        if let r = text.range(of: "Speed") {
            let after = text[r.upperBound...].trimmingSpaces
            let number = after.prefix { $0.isNumber || $0 == "." }
            if let v = Double(number), after.dropFirst(number.count).trimmingSpaces.hasPrefix("GT/s") {
                generation = LinkGeneration(gigatransfersPerSecond: v)
            }
        }
        var width: Int?
        if let r = text.range(of: "Width") {
            let after = text[r.upperBound...].trimmingSpaces
            if after.hasPrefix("x") { width = Int(after.dropFirst().prefix { $0.isNumber }) }
        }
        return (generation, width.flatMap { $0 > 0 ? $0 : nil })
    }

    /// `Memory at de000000 (32-bit, non-prefetchable) [size=16M]`, `I/O ports at e000 [size=128]`,
    /// `Memory at <unassigned> (64-bit, prefetchable) [virtual] [size=32M]`.
    static func region(_ index: Int, _ text: String, sizeRequired: Bool) -> ImportedBAR? {
        let isIO = text.contains("I/O ports")
        guard isIO || text.contains("Memory at") else { return nil }
        var address: UInt64?
        if let r = text.range(of: " at ") ?? text.range(of: "at ") {
            let word = text[r.upperBound...].trimmingSpaces.prefix { $0.isHexDigit }
            address = UInt64(word, radix: 16)
        }
        var size: UInt64 = 0
        if let r = text.range(of: "[size=") {
            let word = text[r.upperBound...].prefix { $0 != "]" }
            size = ByteSize.parse(word) ?? 0
        }
        if size == 0 && sizeRequired { return nil }
        let compact = text.replacingOccurrences(of: " ", with: "")
        return ImportedBAR(index: index, size: size, address: address == 0 ? nil : address,
                           is64Bit: compact.contains("(64-bit"), isPrefetchable: compact.contains(",prefetchable"), isIO: isIO)
    }

    /// `de000000-df0fffff [size=17M]`; nil for `[disabled]` or `None`.
    static func window(_ text: String) -> AddressRange? {
        let word = text.trimmingSpaces.prefix { $0.isHexDigit || $0 == "-" }
        let parts = word.split(separator: "-")
        guard parts.count == 2, let s = UInt64(parts[0], radix: 16), let e = UInt64(parts[1], radix: 16), e > s,
              !text.contains("[disabled]") else { return nil }
        return AddressRange(start: s, end: e)
    }
}

/// Reads `lspci -tv` (or `-t`) trees: which function sits below which bridge.
///
/// Each entry `DD.F` is drawn two columns right of its branch character; siblings share that column and the
/// first child of a bridge follows the bridge's `-[bus]-` on the same line (pciutils ls-tree.c).
struct LspciTreeParser {
    var bag: DiagnosticBag
    /// Parent bridge of each function (nil: on a root bus).
    var parents: [BDF: BDF?] = [:]
    /// What the tree says about each function: its line, the bus range of a bridge, the name text.
    var entries: [BDF: Entry] = [:]

    struct Entry {
        var line: Int
        var secondary: UInt8?
        var subordinate: UInt8?
        /// The name `lspci -tv` prints after the entry (empty for bridges and for `-t`).
        var label: String
    }

    init(file: String) { bag = DiagnosticBag(file: file) }

    enum Node {
        case root(segment: UInt16, bus: UInt8)
        case bridge(BDF, secondary: UInt8)
        var bus: UInt8 {
            switch self {
            case .root(_, let b): b
            case .bridge(_, let s): s
            }
        }
        var segment: UInt16 {
            switch self {
            case .root(let s, _): s
            case .bridge(let b, _): b.segment
            }
        }
        var bdf: BDF? {
            if case .bridge(let b, _) = self { return b }
            return nil
        }
    }

    /// A line of an `lspci -t` tree: branch characters then `[DDDD:BB]` or an entry (`+-01.0-[01]--`, `\-1f.3  ...`).
    static func isTreeLine(_ row: Substring) -> Bool {
        let t = LspciParser.unquote(row).drop { $0 == " " || $0 == "|" || $0 == "\t" }
        guard t.hasPrefix("+-") || t.hasPrefix("\\-") || t.hasPrefix("-[") || t.hasPrefix("-+-[") else { return false }
        let body = t.drop { " |+-\\`".contains($0) }
        if body.hasPrefix("[") { return body.dropFirst().prefix(7).contains(":") }
        let c = Array(body.prefix(4))
        return c.count == 4 && c[0].isHexDigit && c[1].isHexDigit && c[2] == "." && c[3].isNumber
    }

    mutating func parse(_ text: String) {
        var childColumn: [Int: Node] = [:]
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let unquoted = LspciParser.unquote(raw)
            let chars = Array(unquoted.hasSuffix("\r") ? unquoted.dropLast() : unquoted)
            var i = 0
            var pending: Node?       // a bridge or root whose first child follows on this line
            var lastEntry: BDF?
            while i < chars.count {
                let c = chars[i]
                if " |+-\\`".contains(c) { i += 1; continue }
                if c == "[" {
                    guard let close = chars[i...].firstIndex(of: "]") else { break }
                    let content = String(chars[(i + 1)..<close])
                    if content.contains(":") {
                        let parts = content.split(separator: ":")
                        if parts.count == 2, let seg = UInt16(parts[0], radix: 16), let bus = UInt8(parts[1], radix: 16) {
                            pending = .root(segment: seg, bus: bus)
                        }
                    } else if let entry = lastEntry, let secondary = UInt8(content.split(separator: "-").first ?? "", radix: 16) {
                        pending = .bridge(entry, secondary: secondary)
                        let range = content.split(separator: "-")
                        entries[entry]?.secondary = secondary
                        entries[entry]?.subordinate = range.count > 1 ? UInt8(range[1], radix: 16) : secondary
                    }
                    lastEntry = nil
                    i = close + 1
                    continue
                }
                // An entry: two hex digits, '.', one digit.
                if i + 3 < chars.count, chars[i].isHexDigit, chars[i + 1].isHexDigit, chars[i + 2] == ".", chars[i + 3].isNumber,
                   let dev = UInt8(String(chars[i...(i + 1)]), radix: 16), let fn = UInt8(String(chars[i + 3])), dev < 32, fn < 8 {
                    let column = i
                    let parent: Node?
                    if let p = pending {
                        parent = p
                        childColumn[column] = p
                        pending = nil
                    } else {
                        parent = childColumn[column]
                    }
                    guard let parent else {
                        bag.warning(n + 1, "lspci -tv: entry at column \(column + 1) has no bridge above it; ignored")
                        break
                    }
                    let bdf = BDF(segment: parent.segment, bus: parent.bus, device: dev, function: fn)
                    parents[bdf] = .some(parent.bdf)
                    lastEntry = bdf
                    i += 4
                    // A bridge continues with -[bus]; anything else is the device's name.
                    if i + 1 < chars.count, chars[i] == "-", chars[i + 1] == "[" {
                        entries[bdf] = Entry(line: n + 1, label: "")
                        i += 1
                        continue
                    }
                    entries[bdf] = Entry(line: n + 1, label: String(String(chars[i...]).trimmingSpaces))
                    break
                }
                break
            }
        }
    }
}

extension ImportedFunction {
    /// How the assumption of an ID read back from a pci.ids name begins (the paste had no `-nn`).
    static func nameReadBackPrefix(_ id: PCIID) -> String { "vendor:device \(id) read back from its name" }

    /// The ID is a reading of the header's name, not something lspci printed: a dump or a `-tvnn` tree corrects it.
    var idReadBackFromName: Bool {
        guard let id else { return false }
        return assumptions.contains { $0.hasPrefix(Self.nameReadBackPrefix(id)) }
    }

    /// Drops the read-back note once a printed ID (a dump, the tree) settles the question.
    mutating func dropNameReadBack() {
        guard let id else { return }
        assumptions.removeAll { $0.hasPrefix(Self.nameReadBackPrefix(id)) }
    }
}
