// report.html's topo -m matrix is the one `simrun p2p --format topo-m` prints: the same cells, end to end.
import Foundation
import Testing

@Suite struct ReportHTMLCLITests {
    @Test("simrun run's report.html has the cells simrun p2p --format topo-m prints")
    func topoMatrixMatchesCLI() throws {
        let printed = try simrun(["p2p", "topologies/gpu8-gen4-switches.xml", "--format", "topo-m"])
        #expect(printed.status == 0)
        // The printed matrix: the header line, then one line per device up to the blank line before the legend.
        let lines = printed.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let names = lines[0].split(separator: "\t").map(String.init)
        let rows = lines.dropFirst().prefix { !$0.isEmpty }.map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).dropFirst().prefix(names.count - 3)
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let devices = Array(names.prefix(names.count - 3))  // less CPU Affinity, NUMA Affinity, GPU NUMA ID
        #expect(devices.filter { $0.hasPrefix("GPU") }.count == 8 && rows.count == devices.count)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-topo-m-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try simrun(["topologies/gpu8-gen4-switches.xml", "p2p-matrix", "--out", dir.path])
        #expect(run.status == 0, "\(run.stderr)")
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        let table = try #require(html.range(of: "<table class=\"topo").map { html[$0.lowerBound...] }?.prefix { _ in true })
        let body = String(table[..<table.range(of: "</table>")!.lowerBound])
        let htmlRows = body.components(separatedBy: "<tr>").dropFirst(2).map { row in
            row.components(separatedBy: "<td").dropFirst().map { cell in
                String(cell.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" })
            }
        }
        let header = body.components(separatedBy: "<tr>")[1].components(separatedBy: "<th>").dropFirst(2).map { String($0.prefix { $0 != "<" }) }
        #expect(header == devices)
        #expect(htmlRows == rows)
    }
}
