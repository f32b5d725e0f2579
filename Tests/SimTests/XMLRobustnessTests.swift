// Hostile and broken XML: every input ends in a clean error, never a crash, a file read, a fetch or a hang.
import Foundation
import Testing
@testable import Sim

private func expectCleanError(_ bytes: [UInt8], _ check: (DiagnosticError) -> Bool = { _ in true },
                              sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let doc = try TopologyReader.read(bytes: bytes, file: "hostile.xml")
        _ = try Enumerator.enumerate(doc)
        Issue.record("expected an error", sourceLocation: sourceLocation)
    } catch {
        #expect(!error.diagnostics.isEmpty, sourceLocation: sourceLocation)
        #expect(error.diagnostics.allSatisfy { $0.file == "hostile.xml" && !$0.message.isEmpty }, sourceLocation: sourceLocation)
        #expect(check(error), "\(error)", sourceLocation: sourceLocation)
    }
}

let validMachine = Array(machine("""
    <root-port id="8086:347a" acs-cap="SV RR CR UF">
      <switch name="sw" id="1000:c010">
        <downstream-port><endpoint name="a" class="gpu" id="10de:20b0"><bar index="0" size="16M"/></endpoint></downstream-port>
        <downstream-port><endpoint name="b" class="nvme" id="144d:a80a"><bar index="0" size="16K"/></endpoint></downstream-port>
      </switch>
    </root-port>
""").utf8)

@Test("the base document of the robustness tests is valid")
func robustnessBaseIsValid() throws {
    _ = try Enumerator.enumerate(TopologyReader.read(bytes: validMachine, file: "base.xml"))
}

@Test("every truncation of a valid file gives a clean error", arguments: Array(stride(from: 0, to: 1200, by: 7)))
func truncated(_ length: Int) {
    guard length < validMachine.count - 14 else { return }
    expectCleanError(Array(validMachine.prefix(length)))
}

@Test("seeded byte mutations never crash the reader")
func mutated() {
    var rng = SplitMix64Test(seed: 0x5eed)
    var errors = 0
    for _ in 0..<400 {
        var bytes = validMachine
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let i = Int(rng.next() % UInt64(bytes.count))
            bytes[i] = UInt8(truncatingIfNeeded: rng.next() % 128)
        }
        do {
            _ = try Enumerator.enumerate(TopologyReader.read(bytes: bytes, file: "m.xml"))
        } catch {
            errors += 1
            #expect(!error.diagnostics.isEmpty)
        }
    }
    #expect(errors > 300)   // most mutations break something, and each one says what
}

@Test("billion laughs is refused before any expansion")
func billionLaughs() {
    var doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE topology [\n<!ENTITY lol \"lol\">\n"
    for i in 1...9 { doc += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : String(i - 1));", count: 10) + "\">\n" }
    doc += "]>\n<topology name=\"&lol9;\"/>\n"
    let start = ContinuousClock.now
    expectCleanError(Array(doc.utf8)) { $0.diagnostics[0].line == 2 && $0.diagnostics[0].message.contains("not allowed") }
    #expect(ContinuousClock.now - start < .seconds(2))
}

@Test("an external entity naming a local file is never read")
func externalEntityFile() throws {
    let secret = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-secret-\(getpid()).txt")
    try "TOP-SECRET-CONTENT".write(to: secret, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: secret) }
    let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE topology [<!ENTITY x SYSTEM \"file://\(secret.path)\">]>\n<topology name=\"&x;\"><root-complex name=\"rc\"/></topology>\n"
    expectCleanError(Array(doc.utf8)) { !$0.description.contains("TOP-SECRET") }
    // Without the DOCTYPE guard, libxml2 itself must still not substitute: the entity reference is undeclared.
    let bare = "<?xml version=\"1.0\"?>\n<topology name=\"&x;\"><root-complex name=\"rc\"/></topology>\n"
    expectCleanError(Array(bare.utf8)) { !$0.description.contains("TOP-SECRET") }
}

@Test("a DTD fetched over the network is refused without a fetch")
func networkDTD() {
    let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE topology PUBLIC \"-//X//Y\" \"http://192.0.2.1/topology.dtd\">\n<topology name=\"t\"><root-complex name=\"rc\"/></topology>\n"
    let start = ContinuousClock.now
    expectCleanError(Array(doc.utf8)) { $0.diagnostics[0].line == 2 }
    #expect(ContinuousClock.now - start < .seconds(2))   // no connection attempt to wait for
}

@Test("100 MB of nesting is refused by the size limit, and deep nesting within it by the depth limit")
func deepNesting() {
    let open = Array("<a>".utf8)
    var big = Array("<?xml version=\"1.0\"?>\n".utf8)
    big.reserveCapacity(100_000_100)
    while big.count < 100_000_000 { big += open }
    expectCleanError(big) { $0.diagnostics[0].message.contains("the limit is") }

    var deep = "<?xml version=\"1.0\"?>\n<topology name=\"t\">"
    for _ in 0..<5000 { deep += "<root-complex name=\"r\">" }
    expectCleanError(Array(deep.utf8)) { $0.diagnostics[0].message.lowercased().contains("depth") || $0.diagnostics[0].message.contains("nest") }

    var nested = "<?xml version=\"1.0\"?>\n<topology name=\"t\">"
    for _ in 0..<100 { nested += "<x>" }
    for _ in 0..<100 { nested += "</x>" }
    nested += "</topology>"
    expectCleanError(Array(nested.utf8)) { $0.diagnostics[0].message.contains("nest deeper than 64") }
}

@Test("odd encodings and binary input get a clear error")
func encodings() {
    expectCleanError([0xFF, 0xFE, 0x3C, 0x00]) { $0.diagnostics[0].message.contains("UTF-16") }
    expectCleanError(Array("<topology name=\"t\">\u{0}</topology>".utf8)) { $0.diagnostics[0].message.contains("NUL") }
    expectCleanError([]) { $0.diagnostics[0].message.contains("empty") }
    expectCleanError(Array("<?xml version=\"1.0\"?>\n<topology name=\"t\"><root-complex name=\"&#xD800;\"/></topology>".utf8))
}

@Test("a file over the size limit is refused before it is read")
func sizeLimitOnFiles() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-big-\(getpid()).xml").path
    try String(repeating: " ", count: 5000).write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(throws: DiagnosticError.self) { try TopologyReader.read(path: path, limits: XMLLimits(maxBytes: 4096)) }
    #expect(throws: DiagnosticError.self) { try TopologyReader.read(path: "/nonexistent/pciesim.xml") }
    #expect(throws: DiagnosticError.self) { try TopologyReader.read(path: FileManager.default.temporaryDirectory.path) }
}

/// A local seeded generator so these tests do not depend on the engine's.
struct SplitMix64Test {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
