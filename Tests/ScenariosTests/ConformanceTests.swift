// Runs every conformance case file under conformance/cases against the simulated backend.
import Foundation
import Testing
import Scenarios
import Sim

let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

let caseFiles: [String] = {
    let dir = repositoryRoot.appendingPathComponent("conformance/cases")
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()
}()

@Test("the conformance suite has a case file for the reference's cases", arguments: [
    "P01", "P02", "P03", "P04", "P06", "P07", "P08", "P10", "P11", "P12", "P14", "P15", "P16", "P19",
    "G01", "G02", "G04", "G06", "G13", "R01", "R02", "R05", "R11",
])
func caseExists(_ id: String) {
    #expect(caseFiles.contains(id + ".xml"))
}

@Test("conformance case passes", arguments: caseFiles)
func conformanceCase(_ file: String) throws {
    let path = repositoryRoot.appendingPathComponent("conformance/cases").appendingPathComponent(file).path
    let c = try ConformanceCase.read(path: path)
    let checks = ConformanceRunner.run(c)
    #expect(!checks.isEmpty)
    for check in checks where check.verdict == .fail {
        Issue.record("\(check.file):\(check.line): \(check.what): \(check.detail)")
    }
}

@Test("a malformed case file is reported with its line")
func malformedCase() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-case-\(getpid()).xml").path
    try "<?xml version=\"1.0\"?>\n<conformance-case id=\"x\" topology=\"t.xml\">\n  <p2p provider=\"a\" client=\"b\" map-type=\"MAYBE\" distance=\"1\"/>\n</conformance-case>\n"
        .write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(throws: DiagnosticError.self) { try ConformanceCase.read(path: path) }
    do { _ = try ConformanceCase.read(path: path) } catch { #expect(error.diagnostics.first?.line == 3) }
}

@Test("a wrong expectation is reported as a failure naming both sides")
func wrongExpectationFails() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("conf-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let topology = repositoryRoot.appendingPathComponent("conformance/topologies/switch-intel.xml").path
    let file = dir.appendingPathComponent("wrong.xml").path
    try """
    <?xml version="1.0"?>
    <conformance-case id="wrong" topology="\(topology)">
      <p2p provider="A" client="B" map-type="BUS_ADDR" distance="4"/>
      <group devices="A B"/>
    </conformance-case>
    """.write(toFile: file, atomically: true, encoding: .utf8)
    var c = try ConformanceCase.read(path: file)
    c.topologyPath = topology
    let failed = ConformanceRunner.run(c).filter { $0.verdict == .fail }
    #expect(failed.contains { $0.detail == "expected PCI_P2PDMA_MAP_BUS_ADDR, got PCI_P2PDMA_MAP_NOT_SUPPORTED" })
    #expect(failed.contains { $0.what.hasPrefix("group") })
}
