// The `nvidia-smi topo -m` matrix: printed from a topology, parsed from a paste, and compared cell by cell.

/// A GPU/NIC matrix in `nvidia-smi topo -m` form: column names (`GPU0`, `NIC1`, or device names as older
/// drivers print `mlx5_0`), one class per cell, and the NIC legend (`NIC0: mlx5_0`).
public struct TopoMatrix: Sendable, Equatable {
    public var names: [String]
    /// cells[row][column], as printed (`X`, `PIX`, `NV12`).
    public var cells: [[String]]
    /// `NIC0` -> `mlx5_0`, from the "NIC Legend" lines.
    public var nicLegend: [String: String]
    /// `GPU3` -> 0: the "NUMA Affinity" column of each row that has a number there (GPU rows; nvidia-smi prints
    /// none for NICs).
    public var numaAffinity: [String: Int]

    public init(names: [String], cells: [[String]], nicLegend: [String: String] = [:], numaAffinity: [String: Int] = [:]) {
        self.names = names
        self.cells = cells
        self.nicLegend = nicLegend
        self.numaAffinity = numaAffinity
    }

    // MARK: - From a topology

    /// GPUs then NICs, each in PCI address order (nvidia-smi's order; an NCCL import's own busid where it kept one).
    public static func devices(_ fabric: Fabric) -> (gpus: [Int], nics: [Int]) {
        let t = fabric.topology
        let e = fabric.enumeration
        func key(_ f: Int) -> BDF {
            if let d = e.functions[f].device, let p = t.devices[d].parameters.last(where: { $0.name == "nccl.busid" }),
               let b = BDF(p.value.lowercased()) { return b }
            return e.functions[f].bdf
        }
        var gpus: [Int] = []
        var nics: [Int] = []
        for (f, fn) in e.functions.enumerated() where fn.kind == .endpoint {
            guard let d = fn.device, let cls = t.devices[d].endpoint?.endpointClass else { continue }
            if cls == .gpu { gpus.append(f) } else if cls == .nic { nics.append(f) }
        }
        return (gpus.sorted { key($0) < key($1) }, nics.sorted { key($0) < key($1) })
    }

    /// The matrix a topology gives, with nvidia-smi's names (GPU0.., NIC0..) and the NIC legend.
    public static func from(_ fabric: Fabric) -> (matrix: TopoMatrix, functions: [Int]) {
        let (gpus, nics) = devices(fabric)
        let all = gpus + nics
        let gpuFabric = GPUFabric(fabric.topology)
        var names = gpus.indices.map { "GPU\($0)" }
        var legend: [String: String] = [:]
        for (i, f) in nics.enumerated() {
            names.append("NIC\(i)")
            legend["NIC\(i)"] = fabric.name(f)
        }
        let cells = all.map { a in all.map { b in fabric.topoMatrixClass(a, b, gpuFabric: gpuFabric).description } }
        return (TopoMatrix(names: names, cells: cells, nicLegend: legend), all)
    }

    /// The matrix in nvidia-smi's layout: tab-separated, `X` padded as nvidia-smi pads it, NUMA affinity of each
    /// GPU (its root complex's socket; the model has no CPU list, so CPU affinity is N/A), legend, NIC legend.
    public static func text(_ fabric: Fabric) -> String {
        let (m, functions) = from(fabric)
        let gpuCount = m.names.filter { $0.hasPrefix("GPU") }.count
        var out = "\t" + m.names.joined(separator: "\t") + "\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\n"
        for (i, row) in m.cells.enumerated() {
            var line = m.names[i] + "\t" + row.map { $0 == "X" ? " X " : $0 }.joined(separator: "\t")
            if i < gpuCount {
                let socket = fabric.topology.rootComplexes[fabric.enumeration.functions[functions[i]].rootComplex].socket
                line += "\tN/A\t\(socket)\t\tN/A"
            }
            out += line + "\n"
        }
        out += "\nLegend:\n\n"
        out += "  X    = Self\n"
        for p in [PathClass.sys, .node, .phb, .pxb, .pix] {
            out += "  " + p.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0) + " = " + legendText(p) + "\n"
        }
        out += "  NV#  = Connection traversing a bonded set of # NVLinks\n"
        if !m.nicLegend.isEmpty {
            out += "\nNIC Legend:\n\n"
            for i in 0..<m.nicLegend.count { out += "  NIC\(i): \(m.nicLegend["NIC\(i)"] ?? "")\n" }
        }
        return out
    }

    public static func legendText(_ p: PathClass) -> String {
        switch p {
        case .same: "Self"
        case .pix: "Connection traversing at most a single PCIe bridge"
        case .pxb: "Connection traversing multiple PCIe bridges (without traversing the PCIe Host Bridge)"
        case .phb: "Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)"
        case .node: "Connection traversing PCIe as well as the interconnect between PCIe Host Bridges within a NUMA node"
        case .sys: "Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)"
        }
    }

    // MARK: - From a paste

    /// Parses `nvidia-smi topo -m` output as pasted: tabs or spaces, ANSI colours, the affinity columns, the legend
    /// and the NIC legend; older drivers' device-name columns (`mlx5_0`) and `SOC` are read too.
    /// Errors name the line: `file:line: error: message`.
    public static func parse(_ text: String, file: String) throws(DiagnosticError) -> TopoMatrix {
        var bag = DiagnosticBag(file: file)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { stripANSI(String($0)) }
        func tokens(_ s: String) -> [String] { s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init) }
        func isGPUName(_ s: String) -> Bool { s.hasPrefix("GPU") && s.count > 3 && Int(s.dropFirst(3)) != nil }
        guard let h = lines.firstIndex(where: { tokens($0).first.map(isGPUName) ?? false && !($0.first.map { $0 != " " && $0 != "\t" } ?? true) }) else {
            bag.error(1, "no nvidia-smi topo -m header (a line of column names starting with GPU0) found")
            throw DiagnosticError(bag.sorted)
        }
        var names: [String] = []
        for t in tokens(lines[h]) {
            if t == "CPU" || t == "NUMA" || (t == "GPU" && !names.isEmpty) { break }
            names.append(t)
        }
        var cells: [[String]?] = Array(repeating: nil, count: names.count)
        var legend: [String: String] = [:]
        var numa: [String: Int] = [:]
        let affinity = AffinityColumns(header: lines[h], classColumns: names.count)
        for (i, line) in lines.enumerated() where i > h {
            let ts = tokens(line)
            guard let first = ts.first else { continue }
            if first.hasSuffix(":"), first.hasPrefix("NIC"), ts.count >= 2 {
                legend[String(first.dropLast())] = ts[1]
                continue
            }
            guard let row = names.firstIndex(of: first), cells[row] == nil else { continue }
            let values = Array(ts.dropFirst().prefix(names.count))
            if values.count < names.count {
                bag.error(i + 1, "row \(first) has \(values.count) cells, the header names \(names.count) columns")
                continue
            }
            for (c, v) in values.enumerated() where v != "X" && TopoMatrixClass(cell: v) == nil {
                bag.error(i + 1, "row \(first), column \(names[c]): '\(v)' is not a topo -m class (X, PIX, PXB, PHB, NODE, SYS, NV#)")
            }
            cells[row] = values
            if let n = affinity.numa(line, tokens: Array(ts.dropFirst(names.count + 1))) { numa[first] = n }
        }
        for (r, c) in cells.enumerated() where c == nil {
            bag.error(h + 1, "column \(names[r]) has no row")
        }
        try bag.throwIfErrors()
        return TopoMatrix(names: names, cells: cells.map { $0 ?? [] }, nicLegend: legend, numaAffinity: numa)
    }

    /// Where a row's NUMA affinity is: nvidia-smi separates columns with tabs (its affinity cells may be empty,
    /// `\t\t1\t\tN/A`), so a tab-separated paste is read by column; a paste whose tabs became spaces is read
    /// only when every affinity column has a value (an empty one would shift the rest).
    struct AffinityColumns {
        /// Index of "NUMA Affinity" among the tab-separated header fields.
        var tabIndex: Int?
        /// Index of "NUMA Affinity" among the header's affinity columns, and how many there are.
        var spaced: (index: Int, count: Int)?

        init(header: String, classColumns: Int) {
            let fields = header.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
            if fields.count > 1 { tabIndex = fields.firstIndex(of: "NUMA Affinity") }
            let known = ["CPU Affinity", "NUMA Affinity", "GPU NUMA ID"]
            let present = known.filter { header.contains($0) }
            if let i = present.firstIndex(of: "NUMA Affinity") { spaced = (i, present.count) }
        }

        func numa(_ line: String, tokens: [String]) -> Int? {
            if line.contains("\t"), let i = tabIndex {
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                return i < fields.count ? Int(fields[i].trimmingSpaces) : nil
            }
            guard let (i, count) = spaced, tokens.count == count else { return nil }
            return Int(tokens[i])
        }
    }

    static func stripANSI(_ s: String) -> String {
        guard s.contains("\u{1B}") else { return s }
        var out = ""
        var inEscape = false
        for c in s.unicodeScalars {
            if inEscape {
                if (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") { inEscape = false }
            } else if c == "\u{1B}" {
                inEscape = true
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return out
    }

    // MARK: - Comparing

    /// One cell where the topology and the pasted matrix disagree.
    public struct Difference: Sendable, Equatable, CustomStringConvertible {
        public var row: String
        public var column: String
        public var topology: String
        public var pasted: String
        public var description: String { "\(row) \(column): topology gives \(topology), topo -m says \(pasted)" }
    }

    /// Every cell of `pasted` compared with what `fabric` gives. Pasted columns map to the topology's devices:
    /// `GPU<n>` to its n-th GPU, `NIC<n>` to the device the NIC legend names (else its n-th NIC), any other name
    /// to the device of that name. Columns that map to no device are errors, as are devices the paste lacks.
    public static func compare(_ pasted: TopoMatrix, with fabric: Fabric) -> (differences: [Difference], problems: [String]) {
        let r = compare(pasted, with: fabric, map: DeviceMap())
        return (r.differences, r.problems)
    }

    /// Which functions the pasted names are, for a topology that does not know its GPUs and NICs (an `lspci -t`
    /// import has no class codes), and the NUMA nodes it does not know.
    public struct DeviceMap: Sendable, Equatable {
        /// `GPU<n>` -> the function nvidia-smi lists as GPU n (`nvidia-smi --query-gpu=index,pci.bus_id`).
        public var gpus: [Int: BDF]
        /// A NIC legend name (`mlx5_0`) or `NIC<n>` -> its function.
        public var nics: [String: BDF]
        /// Take each GPU's root complex as on the NUMA node the paste's "NUMA Affinity" column gives that GPU
        /// (for inputs without NUMA nodes: `lspci -t`); NODE and SYS then follow those nodes.
        public var numaFromAffinity: Bool

        public init(gpus: [Int: BDF] = [:], nics: [String: BDF] = [:], numaFromAffinity: Bool = false) {
            self.gpus = gpus
            self.nics = nics
            self.numaFromAffinity = numaFromAffinity
        }
    }

    /// `compare` with names mapped by `map` first: `notes` says what the map changed (each NUMA node taken).
    public static func compare(_ pasted: TopoMatrix, with fabric: Fabric, map: DeviceMap)
        -> (differences: [Difference], problems: [String], notes: [String]) {
        let (gpus, nics) = devices(fabric)
        let gpuFabric = GPUFabric(fabric.topology)
        let e = fabric.enumeration
        var problems: [String] = []
        var notes: [String] = []
        var function: [Int?] = []
        func mapped(_ name: String, _ bdf: BDF, _ source: String) -> Int? {
            if let f = e.function(at: bdf) { return f }
            problems.append("\(name) (\(bdf), \(source)) is not a function of the topology")
            return nil
        }
        for name in pasted.names {
            var f: Int?
            if name.hasPrefix("GPU"), let n = Int(name.dropFirst(3)), let bdf = map.gpus[n] {
                f = mapped(name, bdf, "nvidia-smi's pci.bus_id")
            } else if name.hasPrefix("NIC"), let bdf = pasted.nicLegend[name].flatMap({ map.nics[$0] }) ?? map.nics[name] {
                f = mapped(name, bdf, "given for \(pasted.nicLegend[name] ?? name)")
            } else if !map.gpus.isEmpty, name.hasPrefix("GPU") {
                problems.append("\(name) is not in the GPU list (it names \(map.gpus.count) GPUs)")
            } else if name.hasPrefix("GPU"), let n = Int(name.dropFirst(3)) {
                f = n < gpus.count ? gpus[n] : nil
            } else if name.hasPrefix("NIC"), let n = Int(name.dropFirst(3)) {
                if let legend = pasted.nicLegend[name] {
                    f = fabric.enumeration.function(named: legend)
                    if f == nil { problems.append("\(name) (\(legend) in the NIC legend) is not a device of the topology") }
                } else {
                    f = n < nics.count ? nics[n] : nil
                }
            } else {
                f = fabric.enumeration.function(named: name)
            }
            if f == nil, !problems.contains(where: { $0.hasPrefix(name + " ") }) {
                problems.append("\(name) is not a device of the topology (it has \(gpus.count) GPUs and \(nics.count) NICs)")
            }
            function.append(f)
        }
        let listed = Set(function.compactMap { $0 })
        let pastedGPUs = pasted.names.filter { $0.hasPrefix("GPU") }.count
        if map.gpus.isEmpty, gpus.count > pastedGPUs {
            problems.append("the topology has \(gpus.count) GPUs, topo -m lists \(pastedGPUs)")
        } else if map.gpus.count > pastedGPUs {
            problems.append("the GPU list names \(map.gpus.count) GPUs, topo -m lists \(pastedGPUs)")
        }
        // nvidia-smi lists the NICs that have an RDMA device (mlx5_0, ...). A Mellanox/NVIDIA NIC (15b3) has one once
        // its IB driver is loaded, so its absence is a problem; another NIC (an Intel X540 on ixgbe) usually has none
        // and its absence is a note.
        for f in nics where !listed.contains(f) && pasted.names.contains(where: { $0.hasPrefix("NIC") }) {
            if e.functions[f].id.vendor == 0x15b3 {
                problems.append("NIC \(fabric.name(f)) of the topology is not in topo -m (a Mellanox NIC has an RDMA device once mlx5_ib or mlx4_ib is loaded)")
            } else {
                notes.append("NIC \(fabric.name(f)) (\(e.functions[f].bdf), \(e.functions[f].id)) is not in topo -m: nvidia-smi lists NICs with an RDMA device only")
            }
        }
        // NUMA nodes from the paste, by root complex.
        var numa: [Int: Int] = [:]
        if map.numaFromAffinity {
            for (c, name) in pasted.names.enumerated() where name.hasPrefix("GPU") {
                guard let f = function[c] else { continue }
                let rc = e.functions[f].rootComplex
                let rcName = fabric.topology.rootComplexes[rc].name
                guard let node = pasted.numaAffinity[name] else {
                    problems.append("\(name) has no NUMA Affinity in topo -m: root complex \(rcName) keeps the topology's socket")
                    continue
                }
                if let other = numa[rc] {
                    if other != node { problems.append("\(name): topo -m gives NUMA node \(node), another GPU on root complex \(rcName) \(other)") }
                    continue
                }
                numa[rc] = node
                notes.append("\(name): root complex \(rcName) taken as NUMA node \(node) (topo -m's NUMA Affinity; the topology says socket \(fabric.topology.rootComplexes[rc].socket))")
            }
        }
        var differences: [Difference] = []
        for (r, fr) in function.enumerated() {
            guard let fr else { continue }
            for (c, fc) in function.enumerated() {
                guard let fc, c < pasted.cells[r].count else { continue }
                var ours = fabric.topoMatrixClass(fr, fc, gpuFabric: gpuFabric)
                if case .pcie(let p) = ours, p == .node || p == .sys,
                   let na = numa[e.functions[fr].rootComplex], let nb = numa[e.functions[fc].rootComplex] {
                    ours = .pcie(na == nb ? .node : .sys)
                }
                let theirs = pasted.cells[r][c]
                let same = theirs == "X" ? fr == fc : TopoMatrixClass(cell: theirs) == ours
                if !same {
                    differences.append(Difference(row: pasted.names[r], column: pasted.names[c], topology: ours.description, pasted: theirs))
                }
            }
        }
        return (differences, problems, notes)
    }

    /// The GPUs of `nvidia-smi --query-gpu=index,pci.bus_id --format=csv` (other columns may be there too, and
    /// `noheader` output of the bus id alone): GPU n -> its function. nvidia-smi writes an 8-digit domain
    /// (`00000001:04:00.0`); PCI segments are its low 16 bits. Errors name the line.
    public static func gpuList(_ text: String, file: String) throws(DiagnosticError) -> [Int: BDF] {
        var bag = DiagnosticBag(file: file)
        let rows = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .map { (line: $0.offset + 1, cells: $0.element.split(separator: ",").map { $0.trimmingSpaces }) }
            .filter { !($0.cells.count == 1 && $0.cells[0].isEmpty) && !$0.cells.isEmpty }
        guard let first = rows.first else {
            bag.error(1, "no GPU list (nvidia-smi --query-gpu=index,pci.bus_id --format=csv output) found")
            throw DiagnosticError(bag.sorted)
        }
        var busColumn = 0
        var indexColumn: Int?
        var body = rows[...]
        if let b = first.cells.firstIndex(where: { $0 == "pci.bus_id" || $0 == "gpu_bus_id" }) {
            busColumn = b
            indexColumn = first.cells.firstIndex(of: "index")
            body = rows.dropFirst()
        } else if first.cells.count != 1 || BDF(first.cells[0]) == nil {
            bag.error(first.line, "no pci.bus_id column in the header (expected nvidia-smi --query-gpu=index,pci.bus_id --format=csv output)")
            throw DiagnosticError(bag.sorted)
        }
        var gpus: [Int: BDF] = [:]
        for (k, row) in body.enumerated() {
            guard busColumn < row.cells.count, let bdf = BDF(row.cells[busColumn]) else {
                bag.error(row.line, "no PCI bus id in column \(busColumn + 1)")
                continue
            }
            var n = k
            if let i = indexColumn {
                guard i < row.cells.count, let v = Int(row.cells[i]) else {
                    bag.error(row.line, "no GPU index in column \(i + 1)")
                    continue
                }
                n = v
            }
            if gpus[n] != nil { bag.error(row.line, "GPU \(n) is listed twice") }
            gpus[n] = bdf
        }
        if gpus.isEmpty, !bag.hasErrors { bag.error(first.line, "the GPU list has a header but no GPU") }
        try bag.throwIfErrors()
        return gpus
    }
}
