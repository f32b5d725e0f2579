// Mapping scripts: the reader's errors (file:line), every shipped script on the simulated backend, and the
// comparison of two backends shown to catch a backend made wrong on purpose.
import Foundation
import Sim
import Testing

/// The repository root (RoundTripTests' `repositoryRoot`) as a path.
private let root = repositoryRoot.path

private func script(_ body: String, root: String = "<mapping-script name=\"t\">") -> [UInt8] {
    Array("<?xml version=\"1.0\"?>\n\(root)\n\(body)\n</mapping-script>\n".utf8)
}

@Test("A mapping script's bad input is file:line: error: message", arguments: [
    ("<map iova=\"0x1000\" size=\"0x1000\" expect=\"EWHAT\"/>", 3, "unknown errno"),
    ("<map iova=\"0x1000\" size=\"0x1000\" flags=\"read,exec\" expect=\"ok\"/>", 3, "unknown flag 'exec'"),
    ("<map iova=\"0x10000000000000000\" size=\"0x1000\" expect=\"ok\"/>", 3, "out of range"),
    ("<get-info expect=\"ok\" iova-ranges=\"0x2000-0x1000\"/>", 3, "START <= END"),
    ("<map iova=\"0x1000\" size=\"0x1000\" expect=\"viable\"/>", 3, "only <open-group>"),
    ("<open-group expect=\"ok\"/>", 3, "viable, not-viable or an errno"),
    ("<ioas-alloc expect=\"ok\"/>", 3, "an iommufd call in a script with api=\"vfio-type1\""),
    ("<map iova=\"0x1000\" expect=\"ok\"/>", 3, "size"),
    ("<map iova=\"12ab\" size=\"0x1000\" expect=\"ok\"/>", 3, "12ab"),
    ("<unmap iova=\"0\" size=\"0\" argsz=\"0x100000000\" expect=\"ok\"/>", 3, "argsz"),
    ("<frobnicate expect=\"ok\"/>", 3, "frobnicate"),
] as [(String, Int, String)])
func mappingScriptErrors(_ body: String, _ line: Int, _ fragment: String) {
    do {
        _ = try MappingScript.parse(script(body), file: "s.xml")
        Issue.record("accepted: \(body)")
    } catch {
        let first = error.errors.first
        #expect(first?.description.hasPrefix("s.xml:\(line): error: ") == true, "\(error)")
        #expect(error.description.contains(fragment), "\(error)")
    }
}

@Test("A mapping script reads its calls, expectations and header")
func mappingScriptReads() throws {
    let s = try MappingScript.parse(script("""
      <open-group expect="not-viable"/>
      <map iova="0x100000" size="0x2000" vaddr="buf+0x1000" flags="read" argsz="40" expect="EEXIST" what="x"/>
      <unmap iova="0" size="0" flags="all" expect="ok" unmapped="0x2000"/>
      <get-info expect="ok" iova-ranges="0x0-0xfedfffff,0xfef00000-0x7fffffffff" dma-avail="3"/>
    """, root: "<mapping-script name=\"t\" device=\"shared\" dma-entry-limit=\"4\" buffer=\"0x10000\">"), file: "s.xml")
    #expect(s.deviceRole == "shared" && s.dmaEntryLimit == 4 && s.bufferSize == 0x10000 && s.calls.count == 4)
    #expect(s.calls[0].expected.fields == [.init("viable", "no")])
    guard case .map(let m, let v) = s.calls[1].operation else { Issue.record("not a map"); return }
    #expect(m.flags == .read && m.argsz == 40 && m.iova == 0x10_0000 && m.size == 0x2000 && v == .buffer(offset: 0x1000))
    #expect(s.calls[1].expected.errno == .EEXIST && s.calls[1].line == 4 && s.calls[1].what == "x")
    guard case .unmap(let u) = s.calls[2].operation else { Issue.record("not an unmap"); return }
    #expect(u.flags == .unmapAll && s.calls[2].expected.fields == [.init("unmapped", "0x2000")])
    #expect(s.calls[3].expected.fields.map(\.name) == ["iova-ranges", "dma-avail"])
}

/// The oracle's machine as QEMU builds it, with its NVMe functions bound to vfio-pci.
private func oracleBackend(fault: VFIOContainer.Fault? = nil) throws -> SimulatedBackend {
    let loaded = try LoadedTopology.load(path: root + "/mapping/qemu-vfio.xml")
    var b = SimulatedBackend(try LoadedTopology(topology: try QEMUExport.machine(loaded).guestTopology))
    for bdf in ["0000:01:00.0", "0000:02:00.0"] { b.vfio.boundToVFIO.insert(b.function(at: BDF(bdf)!)!) }
    b.vfio.iovaWidth = 39   // QEMU 7.2 intel-iommu aw-bits
    b.vfio.fault = fault
    return b
}

private func shippedScripts() throws -> [MappingScript] {
    let dir = root + "/mapping"
    return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".xml") && $0 != "qemu-vfio.xml" }.sorted()
        .map { f in try MappingScript.read(path: dir + "/" + f) }
}

private func device(_ s: MappingScript) -> BDF { BDF(s.deviceRole == "shared" ? "0000:02:00.0" : "0000:01:00.0")! }

@Test("Every shipped mapping script is answered as it expects by the simulated backend (the oracle's machine)")
func shippedScriptsOnSimulated() throws {
    let scripts = try shippedScripts()
    #expect(scripts.reduce(0) { $0 + $1.calls.count } >= 20)
    for s in scripts {
        var b = try oracleBackend()
        b.vfio.dmaEntryLimit = s.dmaEntryLimit ?? 65535
        let run = try MappingScriptRunner.run(s, on: &b, device: device(s))
        #expect(run.mismatches.isEmpty, "\(s.file): \(run.mismatches.map { "\($0.call.line) \($0.call.text): \($0.answer)" })")
    }
}

@Test("The comparison of two backends shows every call a backend made wrong on purpose answers differently",
      arguments: VFIOContainer.Fault.allCases)
func comparisonCatchesAFault(_ fault: VFIOContainer.Fault) throws {
    let s = try MappingScript.read(path: root + "/mapping/type1-basics.xml")
    var right = try oracleBackend()
    var wrong = try oracleBackend(fault: fault)
    let a = try MappingScriptRunner.run(s, on: &right, device: device(s))
    let b = try MappingScriptRunner.run(s, on: &wrong, device: device(s))
    let differing = MappingScriptRunner.differences(a, b).map { $0.a.call.line }
    #expect(!differing.isEmpty)
    // The wrong backend's differing calls are exactly its mismatches with the script's expectations, plus those whose
    // answer the script does not pin (get-info's ranges when the script checks only dma_avail).
    #expect(Set(b.mismatches.map(\.call.line)).isSubset(of: Set(differing)))
    switch fault {
    case .acceptOverlap:
        // The three overlapping maps succeed (lines 19-21), and the later unmaps and counts differ.
        #expect(Set([19, 20, 21]).isSubset(of: Set(differing)))
    case .ignoreReservedRanges:
        // The MSI window maps (lines 33, 34) succeed, and get-info's ranges differ (line 17).
        #expect(Set([17, 33, 34]).isSubset(of: Set(differing)))
    }
    #expect(MappingScriptRunner.differences(a, a).isEmpty)
}

@Test("Backends without user-space calls say so, with ENODEV and the backend's name")
func sysfsBackendHasNoUserDMA() throws {
    let empty = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-empty-sysfs-\(getpid())").path
    try FileManager.default.createDirectory(atPath: empty + "/sys/bus/pci/devices", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: empty) }
    var b = try LinuxSysfsBackend(root: empty)
    do { _ = try b.vfioOpenGroup(device: BDF("0000:01:00.0")!); Issue.record("answered") } catch {
        #expect(error.errno == .ENODEV && error.reason.contains("sysfs"))
    }
}
