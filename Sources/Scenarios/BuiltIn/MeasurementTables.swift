// The tables of the tool-named built-ins, laid out as the tools print them: p2pBandwidthLatencyTest's matrices
// (GB/s and µs, row = source GPU, column = destination), pcie-bench's sweeps (Gb/s, ns), nvbandwidth's per-GPU rows.
import Sim

enum MeasurementTables {
    typealias Flow = RunReport.Flow
    typealias Table = RunReport.Table

    static func tables(_ scenario: String, _ flows: [Flow]) -> [Table] {
        switch scenario {
        case BuiltInScenario.p2pBandwidthLatency.rawValue: p2pBandwidthLatency(flows)
        case BuiltInScenario.pcieBenchSizes.rawValue: pcieBenchSizes(flows)
        case BuiltInScenario.pcieBenchWindow.rawValue: pcieBenchWindow(flows)
        case BuiltInScenario.nvbandwidth.rawValue: nvbandwidth(flows)
        default: []
        }
    }

    static func f2(_ v: Double) -> String { String(format: "%.2f", v) }
    /// A cell: the value, marked `X` when a flow of it was blocked or refused (as p2p-matrix marks them).
    static func cell(_ flows: [Flow], _ value: Double?, _ format: (Double) -> String) -> String {
        guard let value else { return flows.contains { $0.status != "ok" } ? "X" : "n/a" }
        return (flows.contains { $0.status != "ok" } ? "X " : "") + format(value)
    }

    /// The devices in the order they first appear as requesters of P2P=Enabled copies.
    static func devices(_ flows: [Flow], kind: String) -> [String] {
        var names: [String] = []
        for f in flows where f.phaseKind == kind && !names.contains(f.requester) { names.append(f.requester) }
        return names
    }

    /// Staged through host memory: the slower leg sets a direction's rate (the copies are pipelined).
    static func stagedRate(_ legs: [Flow]) -> Double? {
        legs.count == 2 ? legs.map(\.gigabytesPerSecond).min() : nil
    }

    static func p2pBandwidthLatency(_ flows: [Flow]) -> [Table] {
        let names = devices(flows, kind: "uni p2p")
        func matrix(_ title: String, _ kind: String, bidirectional: Bool, _ value: ([Flow]) -> Double?, _ format: (Double) -> String) -> Table {
            var rows: [[String]] = []
            for a in names {
                var row = [a]
                for b in names {
                    if a == b { row.append("-"); continue }
                    let phase = bidirectional ? (flows.contains { $0.phaseKind == kind && $0.phase == "\(a) <-> \(b)" } ? "\(a) <-> \(b)" : "\(b) <-> \(a)")
                        : "\(a) -> \(b)"
                    let cells = flows.filter { $0.phaseKind == kind && $0.phase == phase }
                    row.append(cells.isEmpty ? "n/a" : cell(cells, value(cells), format))
                }
                rows.append(row)
            }
            return Table(title: title, columns: ["D\\D"] + names, rows: rows)
        }
        let us = { (v: Double) in String(format: "%.2f", v / 1000) }
        let read = flows.contains { $0.phaseKind == "uni p2p" && $0.operation == "read" }
        let verb = read ? "P2P Reads" : "P2P Writes"
        return [
            matrix("Unidirectional P2P=Disabled Bandwidth Matrix (GB/s)", "uni staged", bidirectional: false, stagedRate, f2),
            matrix("Unidirectional P2P=Enabled Bandwidth (\(verb)) Matrix (GB/s)", "uni p2p", bidirectional: false,
                   { $0.first?.gigabytesPerSecond }, f2),
            matrix("Bidirectional P2P=Disabled Bandwidth Matrix (GB/s)", "bidi staged", bidirectional: true, { legs in
                // Two staged directions: the row's copy out (legs 0, 1) and the column's copy back (legs 2, 3).
                guard legs.count == 4, let x = stagedRate(Array(legs[0..<2])), let y = stagedRate(Array(legs[2..<4])) else { return nil }
                return x + y
            }, f2),
            matrix("Bidirectional P2P=Enabled Bandwidth Matrix (GB/s)", "bidi p2p", bidirectional: true,
                   { $0.count == 2 ? $0.reduce(0) { $0 + $1.gigabytesPerSecond } : nil }, f2),
            // Staged latency: the copy to host memory, then the copy from it (one after the other in the tool).
            matrix("P2P=Disabled Latency Matrix (us)", "latency staged", bidirectional: false, { legs in
                let v = legs.compactMap(\.latencyMeanns)
                return v.count == 2 ? v.reduce(0, +) : nil
            }, us),
            matrix("P2P=Enabled Latency (\(verb)) Matrix (us)", "latency p2p", bidirectional: false, { $0.first?.latencyMeanns }, us),
        ]
    }

    /// Gb/s, as pcie-bench reports bandwidth.
    static func gbits(_ f: Flow?) -> String { f.map { String(format: "%.2f", $0.gigabytesPerSecond * 8) } ?? "-" }

    static func pcieBenchSizes(_ flows: [Flow]) -> [Table] {
        var sizes: [Int] = []
        for f in flows {
            let parts = f.phaseKind.split(separator: " ")
            if parts.count == 2, let s = Int(parts[1]), !sizes.contains(s) { sizes.append(s) }
        }
        let rows = sizes.map { s -> [String] in
            let rd = flows.first { $0.phaseKind == "bw_rd \(s)" }
            let wr = flows.first { $0.phaseKind == "bw_wr \(s)" }
            let rw = flows.filter { $0.phaseKind == "bw_rw \(s)" }
            let rwRead = rw.first { $0.operation == "read" }
            let rwWrite = rw.first { $0.operation == "write" }
            let lat = flows.first { $0.phaseKind == "lat_rd \(s)" }
            let total = rw.count == 2 ? String(format: "%.2f", rw.reduce(0) { $0 + $1.gigabytesPerSecond } * 8) : "-"
            return [ByteSize.format(UInt64(s)), gbits(rd), gbits(wr), gbits(rwRead), gbits(rwWrite), total,
                    lat?.latencyMeanns.map { String(format: "%.0f", $0) } ?? "-"]
        }
        return [Table(title: "pcie-bench transfer-size sweep (DMA to/from host memory)",
                      columns: ["size", "BW_RD Gb/s", "BW_WR Gb/s", "BW_RW rd Gb/s", "BW_RW wr Gb/s", "BW_RW total Gb/s", "LAT_RD ns"],
                      rows: rows)]
    }

    static func pcieBenchWindow(_ flows: [Flow]) -> [Table] {
        let rows = flows.map { f -> [String] in
            let parts = f.phaseKind.split(separator: " ")
            let window = parts.first.flatMap { UInt64($0.dropFirst("window=".count)) }.map(ByteSize.format) ?? "?"
            let page = parts.dropFirst().first.flatMap { UInt64($0.dropFirst("page=".count)) }.map(ByteSize.format) ?? "?"
            return [window, page, gbits(f), f.latencyMeanns.map { String(format: "%.0f", $0) } ?? "-",
                    f.latencyP99ns.map { String(format: "%.0f", $0) } ?? "-"]
        }
        return [Table(title: "pcie-bench window sweep (BW_RD, random offsets)", columns: ["window", "page", "Gb/s", "mean ns", "p99 ns"], rows: rows)]
    }

    static func nvbandwidth(_ flows: [Flow]) -> [Table] {
        var names: [String] = []
        for f in flows where f.phaseKind == "h2d" && !names.contains(f.requester) { names.append(f.requester) }
        func rate(_ kind: String, _ device: String, _ op: String) -> String {
            let cells = flows.filter { $0.phaseKind == kind && $0.requester == device && $0.operation == op }
            return cells.isEmpty ? "-" : cell(cells, cells[0].gigabytesPerSecond, f2)
        }
        var rows = names.map { d in
            [d, rate("h2d", d, "read"), rate("d2h", d, "write"), rate("bidir", d, "read"), rate("bidir", d, "write"),
             rate("h2d all", d, "read"), rate("d2h all", d, "write")]
        }
        if flows.contains(where: { $0.phaseKind == "h2d all" }) {
            func sum(_ kind: String) -> String { f2(flows.filter { $0.phaseKind == kind }.reduce(0) { $0 + $1.gigabytesPerSecond }) }
            rows.append(["all (sum)", "-", "-", "-", "-", sum("h2d all"), sum("d2h all")])
        }
        return [Table(title: "nvbandwidth copy-engine host transfers (GB/s)",
                      columns: ["GPU", "host_to_device", "device_to_host", "bidir h2d", "bidir d2h", "host_to_all", "all_to_host"],
                      rows: rows)]
    }
}
