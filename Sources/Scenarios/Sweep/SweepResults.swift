// A sweep's journal (points.tsv: one line per finished point, exact doubles as bit patterns) and the files written
// from it: results.csv, results.json, summary.md and sweep.html. The files are a function of the plan, the
// selection, the mode and the rows alone, so a resumed run, a run on N threads and merged shards write the same bytes.
import Foundation
import Sim

public enum SweepJournal {
    public static let fileName = "points.tsv"

    public struct Header: Sendable, Hashable {
        public var plan: String
        public var digest: UInt64
        public var gridSize: Int
        public var selection: String
        /// `I/N`, or `all`.
        public var shard: String
        public var mode: String

        var line: String {
            "# pciesim-sweep 1\tplan=\(plan)\tdigest=\(String(digest, radix: 16))\tgrid=\(gridSize)\tselection=\(selection)\tshard=\(shard)\tmode=\(mode)"
        }
        init(plan: Plan, selection: SweepSelection, mode: SimulationMode) {
            self.plan = plan.name
            digest = plan.digest
            gridSize = plan.gridSize
            self.selection = selection.descriptor
            shard = selection.shard.map { "\($0.index)/\($0.count)" } ?? "all"
            self.mode = mode.rawValue
        }
        init?(_ line: Substring) {
            let fields = line.split(separator: "\t")
            guard fields.count == 7, fields[0] == "# pciesim-sweep 1" else { return nil }
            var v: [String: String] = [:]
            for f in fields.dropFirst() {
                guard let eq = f.firstIndex(of: "=") else { return nil }
                v[String(f[..<eq])] = String(f[f.index(after: eq)...])
            }
            guard let plan = v["plan"], let d = v["digest"].flatMap({ UInt64($0, radix: 16) }), let g = v["grid"].flatMap({ Int($0) }),
                  let s = v["selection"], let sh = v["shard"], let m = v["mode"] else { return nil }
            self.plan = plan; digest = d; gridSize = g; selection = s; shard = sh; mode = m
        }
    }

    static func encode(_ r: SweepRow) -> String {
        let metrics = r.metrics.map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
        let cost = r.cost.map { String($0.bitPattern, radix: 16) } ?? "-"
        return "\(r.point)\t\(r.mode)\t\(cost)\t\(metrics.isEmpty ? "-" : metrics)\t\(r.error ?? "-")\n"
    }

    static func decode(_ line: Substring) -> SweepRow? {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard f.count == 5, let point = Int(f[0]) else { return nil }
        var metrics: [Double] = []
        if f[3] != "-" {
            for m in f[3].split(separator: ",") {
                guard let bits = UInt64(m, radix: 16) else { return nil }
                metrics.append(Double(bitPattern: bits))
            }
        }
        let cost: Double? = f[2] == "-" ? nil : UInt64(f[2], radix: 16).map { Double(bitPattern: $0) }
        return SweepRow(point: point, mode: String(f[1]), metrics: metrics, cost: cost, error: f[4] == "-" ? nil : String(f[4]))
    }

    /// Reads a journal: its header and its complete lines (a line cut short by a kill is dropped; a point
    /// journaled twice keeps its first line).
    public static func read(_ directory: String) throws(SweepError) -> (Header, [SweepRow])? {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw SweepError("\(path): cannot be read") }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() } else if !lines.isEmpty { lines.removeLast() }
        guard let first = lines.first, let header = Header(first) else { throw SweepError("\(path): not a sweep journal (no pciesim-sweep header)") }
        var rows: [SweepRow] = []
        var seen = Set<Int>()
        for (n, line) in lines.dropFirst().enumerated() {
            guard let row = decode(line) else { throw SweepError("\(path):\(n + 2): error: malformed journal line") }
            if seen.insert(row.point).inserted { rows.append(row) }
        }
        return (header, rows)
    }
}

/// Appends journal lines from many threads; each line is one write(2), so a kill loses at most the line in flight.
public final class SweepJournalWriter: @unchecked Sendable {
    let handle: FileHandle
    let lock = NSLock()
    public private(set) var written = 0

    /// Opens (or starts) the journal in `directory`; an existing journal must be this sweep's. Returns the writer
    /// and the rows already there.
    public static func open(_ directory: String, plan: Plan, selection: SweepSelection, mode: SimulationMode) throws(SweepError) -> (SweepJournalWriter, [SweepRow]) {
        let header = SweepJournal.Header(plan: plan, selection: selection, mode: mode)
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw SweepError("\(directory): cannot create the results folder: \(error.localizedDescription)", isWriteFailure: true)
        }
        let path = directory + "/" + SweepJournal.fileName
        var rows: [SweepRow] = []
        if let (existing, done) = try SweepJournal.read(directory) {
            guard existing == header else {
                throw SweepError("\(directory) holds results of another sweep (\(existing.plan), \(existing.selection), shard \(existing.shard), mode \(existing.mode)); choose another --out or remove it")
            }
            rows = done
            // Rewrite without a torn last line before appending.
            let text = header.line + "\n" + rows.map(SweepJournal.encode).joined()
            if let reason = AtomicFile.write(text, to: path) { throw SweepError("\(path): cannot be rewritten: \(reason)", isWriteFailure: true) }
        } else {
            guard fm.createFile(atPath: path, contents: Data((header.line + "\n").utf8)) else { throw SweepError("\(path): cannot be created", isWriteFailure: true) }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw SweepError("\(path): cannot be opened", isWriteFailure: true) }
        handle.seekToEndOfFile()
        return (SweepJournalWriter(handle), rows)
    }

    init(_ handle: FileHandle) { self.handle = handle }

    /// The first write error (out of disk, ...): later rows are not journaled and the sweep fails (exit 2).
    public private(set) var failure: String?

    public func append(_ row: SweepRow) {
        lock.lock(); defer { lock.unlock() }
        guard failure == nil else { return }
        do {
            try handle.write(contentsOf: Data(SweepJournal.encode(row).utf8))
            written += 1
        } catch {
            failure = "cannot be written: \(error.localizedDescription)"
        }
    }

    public func close() { try? handle.close() }
}

/// The result files of a set of rows.
public struct SweepResults {
    /// Written after the other result files, listing them: present only when the set is whole (AtomicFileSet).
    public static let manifestName = "results.manifest"

    public let runner: SweepRunner
    public let selection: SweepSelection
    public let rows: [SweepRow]
    var plan: Plan { runner.plan }

    public init(runner: SweepRunner, selection: SweepSelection, rows: [SweepRow]) {
        self.runner = runner
        self.selection = selection
        self.rows = rows.sorted { $0.point < $1.point }
    }

    func value(_ row: SweepRow, _ metric: String) -> Double? {
        guard let i = plan.metrics.firstIndex(where: { $0.name == metric }), i < row.metrics.count, row.metrics[i].isFinite else { return nil }
        return row.metrics[i]
    }

    func verdicts(_ row: SweepRow) -> [Bool] {
        plan.constraints.map { c in value(row, c.metric).map(c.holds) ?? false }
    }

    public func ok(_ row: SweepRow) -> Bool { row.error == nil && verdicts(row).allSatisfy { $0 } }

    /// Cost per unit of the rank-by metric (per GB/s for throughput).
    func costPerUnit(_ row: SweepRow) -> Double? {
        guard let r = plan.rankBy, let cost = row.cost, let v = value(row, r), v > 0 else { return nil }
        return cost / v
    }

    static func number(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "n/a" }

    public var files: [(name: String, contents: String)] {
        [("results.csv", csv), ("results.json", json.serialized() + "\n"), ("summary.md", summary), ("sweep.html", SweepHTML(self).html)]
    }

    func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    public var csv: String {
        var header = ["point"] + plan.axes.map(\.name) + ["mode"] + plan.metrics.map { $0.unit.isEmpty ? $0.name : "\($0.name) (\($0.unit))" }
        if !plan.costs.isEmpty { header.append("cost") }
        if let r = plan.rankBy { header.append("cost per \(r)") }
        header += plan.constraints.map(\.text) + ["ok", "error"]
        var out = header.map(csvField).joined(separator: ",") + "\n"
        for row in rows {
            var fields = [String(row.point)] + runner.labels(row.point) + [row.mode]
            fields += plan.metrics.indices.map { Self.number(row.metrics.indices.contains($0) && row.metrics[$0].isFinite ? row.metrics[$0] : nil) }
            if !plan.costs.isEmpty { fields.append(Self.number(row.cost)) }
            if plan.rankBy != nil { fields.append(Self.number(costPerUnit(row))) }
            fields += verdicts(row).map { $0 ? "pass" : "fail" }
            fields += [ok(row) ? "yes" : "no", row.error ?? ""]
            out += fields.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    public var json: JSON {
        func num(_ v: Double?) -> JSON { v.map { .double($0) } ?? .null }
        var head: [(String, JSON)] = [
            ("schema", .string("pciesim-sweep/1")), ("plan", .string(plan.name)), ("scenario", .string(plan.scenario.rawValue)),
            ("mode", .string(runner.mode.rawValue)), ("selection", .string(selection.descriptor)), ("gridPoints", .int(Int64(plan.gridSize))),
            ("axes", .array(plan.axes.map { a in .object([("name", .string(a.name)), ("kind", .string(a.kind.rawValue)),
                                                            ("values", .array(a.values.map { .string($0.label) }))]) })),
            ("metrics", .array(plan.metrics.map { m in .object([("name", .string(m.name)), ("unit", .string(m.unit))]) })),
            ("constraints", .array(plan.constraints.map { .string($0.text) })),
        ]
        head.append(("points", .array(rows.map { row in
            var o: [(String, JSON)] = [("point", .int(Int64(row.point)))]
            o.append(("parameters", .object(zip(plan.axes, runner.labels(row.point)).map { ($0.name, .string($1)) })))
            o.append(("mode", .string(row.mode)))
            o.append(("metrics", .object(plan.metrics.indices.map { i in
                (plan.metrics[i].name, num(row.metrics.indices.contains(i) && row.metrics[i].isFinite ? row.metrics[i] : nil)) })))
            if !plan.costs.isEmpty { o.append(("cost", num(row.cost))) }
            if plan.rankBy != nil { o.append(("costPerUnit", num(costPerUnit(row)))) }
            o.append(("constraints", .object(zip(plan.constraints, verdicts(row)).map { ($0.text, .bool($1)) })))
            o.append(("ok", .bool(ok(row))))
            if let e = row.error { o.append(("error", .string(e))) }
            return .object(o)
        })))
        return .object(head)
    }

    /// Configurations no other beats on both cost and the rank-by metric (lower cost, higher metric).
    public var paretoFront: [SweepRow] {
        guard let r = plan.rankBy else { return [] }
        let candidates = rows.filter { $0.cost != nil && value($0, r) != nil }
        return candidates.filter { a in
            !candidates.contains { b in
                b.cost! <= a.cost! && value(b, r)! >= value(a, r)! && (b.cost! < a.cost! || value(b, r)! > value(a, r)!)
            }
        }.sorted { $0.cost! < $1.cost! }
    }

    public var summary: String {
        var md = "# Sweep: \(plan.name)\n\n"
        md += "Scenario `\(plan.scenario.rawValue)`, mode `\(runner.mode.rawValue)`, \(rows.count) points (\(selection.descriptor) of \(plan.gridSize)).\n"
        let okRows = rows.filter(ok)
        let failed = rows.filter { $0.error != nil }
        md += "\(okRows.count) meet every constraint\(plan.constraints.isEmpty ? "" : " (" + plan.constraints.map { "`\($0.text)`" }.joined(separator: ", ") + ")")"
        md += failed.isEmpty ? ".\n" : "; \(failed.count) could not be run (see results.csv).\n"
        let modes = Dictionary(grouping: rows.filter { $0.error == nil }, by: \.mode).map { "\($0.value.count) \($0.key)" }.sorted()
        if !modes.isEmpty { md += "Simulated: \(modes.joined(separator: ", ")).\n" }
        func table(_ title: String, _ list: [SweepRow]) {
            guard !list.isEmpty else { return }
            md += "\n## \(title)\n\n| point | " + plan.axes.map(\.name).joined(separator: " | ") + " | "
                + plan.metrics.map { $0.unit.isEmpty ? $0.name : "\($0.name) (\($0.unit))" }.joined(separator: " | ")
            if !plan.costs.isEmpty { md += " | cost" }
            if let r = plan.rankBy { md += " | cost per \(r)" }
            md += " | ok |\n|" + String(repeating: " --- |", count: 2 + plan.axes.count + plan.metrics.count + (plan.costs.isEmpty ? 0 : 1) + (plan.rankBy == nil ? 0 : 1)) + "\n"
            for row in list {
                md += "| \(row.point) | " + runner.labels(row.point).joined(separator: " | ") + " | "
                    + plan.metrics.indices.map { Self.number(row.metrics.indices.contains($0) && row.metrics[$0].isFinite ? row.metrics[$0] : nil) }.joined(separator: " | ")
                if !plan.costs.isEmpty { md += " | " + Self.number(row.cost) }
                if plan.rankBy != nil { md += " | " + Self.number(costPerUnit(row)) }
                md += " | \(ok(row) ? "yes" : "no") |\n"
            }
        }
        if let r = plan.rankBy {
            let ranked = okRows.filter { costPerUnit($0) != nil }.sorted { (costPerUnit($0)!, $0.point) < (costPerUnit($1)!, $1.point) }
            if let best = ranked.first {
                md += "\nBest by cost per \(r) among those meeting the constraints: point \(best.point) ("
                    + zip(plan.axes, runner.labels(best.point)).map { "\($0.name)=\($1)" }.joined(separator: ", ")
                    + "): \(Self.number(value(best, r))) at cost \(Self.number(best.cost)), \(Self.number(costPerUnit(best))) per unit.\n"
            }
            table("Ranked by cost per \(r) (first 10 meeting the constraints)", Array(ranked.prefix(10)))
            table("Pareto front: cost against \(r)", paretoFront)
        } else if let first = plan.metrics.first {
            let ranked = rows.filter { value($0, first.name) != nil }.sorted { (-value($0, first.name)!, $0.point) < (-value($1, first.name)!, $1.point) }
            table("Highest \(first.name) (first 10)", Array(ranked.prefix(10)))
        }
        // Each axis's effect: the mean of each metric over the points with each of its values.
        for (a, axis) in plan.axes.enumerated() {
            md += "\n## Effect of \(axis.name)\n\n| \(axis.name) | points | " + plan.metrics.map { "mean \($0.name)" }.joined(separator: " | ") + " |\n|"
                + String(repeating: " --- |", count: 2 + plan.metrics.count) + "\n"
            for (v, value) in axis.values.enumerated() {
                let subset = rows.filter { runner.plan.coordinates($0.point)[a] == v && $0.error == nil }
                guard !subset.isEmpty else { continue }
                md += "| \(value.label) | \(subset.count) | " + plan.metrics.indices.map { i in
                    let vs = subset.compactMap { i < $0.metrics.count && $0.metrics[i].isFinite ? $0.metrics[i] : nil }
                    return vs.isEmpty ? "n/a" : Self.number(vs.reduce(0, +) / Double(vs.count))
                }.joined(separator: " | ") + " |\n"
            }
        }
        return md
    }
}
