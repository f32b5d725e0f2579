// Observed vs firmware ACS control (issue #17): live-state imports keep the control the kernel left.
import Foundation
import Testing
@testable import Sim

@Suite("observed ACS control")
struct ImportLiveACSTests {
    /// Function sets of a partition, keyed by any label.
    static func partition<K: Hashable>(_ pairs: [(BDF, K)]) -> Set<Set<BDF>> {
        Set(Dictionary(grouping: pairs, by: \.1).values.map { Set($0.map(\.0)) })
    }

    /// The simulator's IOMMU groups of the enumerated functions.
    static func simulatedGroups(_ t: Topology) throws -> Set<Set<BDF>> {
        let loaded = try LoadedTopology(topology: t)
        let s = Semantics(loaded)
        let e = loaded.enumeration
        return partition(e.functions.indices.compactMap { i in s.groupNumbers[i].map { (e.functions[i].bdf, $0) } })
    }

    static let amd = ImportOptions(cpu: ImportedCPU(vendor: .amd, family: 0x19))

    @Test("a live lspci dump whose firmware cleared SrcValid after boot gives the kernel's groups; firmware ACS would split them")
    func srcValidClearedAfterBoot() throws {
        let path = importFixture("lspci-vvv-srcvalid-cleared.txt")
        let r = try LspciImporter.read(path: path, options: Self.amd)
        let t = r.topology
        let ports = t.devices.filter { $0.kind == .rootPort }
        #expect(ports.count == 3)
        for p in ports {
            #expect(p.acs?.controlSource == .observed)
            #expect(p.acs?.control == [.requestRedirect, .completionRedirect, .upstreamForwarding])
        }
        #expect(r.assumptions.contains(ImportedMachine.liveACSControl))

        // The groups the kernel reported (the IOMMU group: lines) for every function the topology enumerates.
        let machine = try LspciImporter.machine(text: String(contentsOfFile: path, encoding: .utf8), file: path)
        let loaded = try LoadedTopology(topology: t)
        let enumerated = Set(loaded.enumeration.functions.map(\.bdf))
        let kernel = Self.partition(machine.functions.compactMap { f in f.iommuGroup.flatMap { enumerated.contains(f.bdf) ? (f.bdf, $0) : nil } })
        #expect(kernel.count == 1 && kernel.first?.count == 7)
        #expect(try Self.simulatedGroups(t) == kernel)
        // The ports' control after the simulated boot is what was observed: SV stays off.
        let s = Semantics(loaded)
        for i in loaded.enumeration.functions.indices where loaded.enumeration.functions[i].kind == .rootPort {
            #expect(s.acsControl[i] == [.requestRedirect, .completionRedirect, .upstreamForwarding])
        }

        // The same registers read as firmware values: Linux's enable turns SV back on and splits the group.
        var firmware = t
        for d in firmware.devices.indices where firmware.devices[d].acs != nil { firmware.devices[d].acs?.controlSource = .firmware }
        // Every port then isolates: each of the seven functions is a group of its own.
        let split = try Self.simulatedGroups(firmware)
        #expect(split.count == 7 && split.allSatisfy { $0.count == 1 })
    }

    @Test("acs-ctrl-source round-trips through the writer and reader; firmware is the default and is not written")
    func xmlRoundTrip() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-vvv-srcvalid-cleared.txt"), options: Self.amd)
        let text = TopologyWriter.write(r.topology)
        #expect(text.contains("acs-ctrl-source=\"observed\""))
        let back = try TopologyReader.read(text: text, file: "live.xml").topology
        #expect(back.devices.map(\.acs) == r.topology.devices.map(\.acs))
        var firmware = r.topology
        for d in firmware.devices.indices where firmware.devices[d].acs != nil { firmware.devices[d].acs?.controlSource = .firmware }
        #expect(!TopologyWriter.write(firmware).contains("acs-ctrl-source=\""))
    }

    @Test("bad acs-ctrl-source values are errors with a line")
    func badSource() {
        let xml = """
        <topology name="t"><socket id="0" cpu-vendor="amd"/>
        <root-complex name="rc" socket="0">
          <root-port name="rp" acs-cap="SV RR" acs-ctrl-source="observed"/>
          <root-port name="rp2" acs-ctrl-source="observed"/>
        </root-complex></topology>
        """
        #expect(throws: DiagnosticError.self) { _ = try TopologyReader.read(text: xml, file: "bad.xml") }
        do {
            _ = try TopologyReader.read(text: xml, file: "bad.xml")
        } catch {
            #expect(error.diagnostics.contains { $0.line == 4 && $0.message.contains("acs-ctrl-source but has no acs-cap") })
        }
        let typo = xml.replacingOccurrences(of: "acs-ctrl-source=\"observed\"/>\n  <root-port name=\"rp2\" acs-ctrl-source=\"observed\"/>", with: "acs-ctrl-source=\"live\"/>")
        #expect(throws: DiagnosticError.self) { _ = try TopologyReader.read(text: typo, file: "bad.xml") }
    }

    @Test("observed ports ignore disable_acs_redir; simrun show's note names what is not re-applied")
    func observedIgnoresBootParameters() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-vvv-srcvalid-cleared.txt"), options: Self.amd)
        var t = r.topology
        t.kernel.commandLine = "pci=disable_acs_redir=0000:00:03.1"
        let loaded = try LoadedTopology(topology: t)
        let s = Semantics(loaded)
        let i = try #require(loaded.enumeration.functions.firstIndex { $0.bdf == BDF("0000:00:03.1") })
        #expect(s.acsControl[i] == [.requestRedirect, .completionRedirect, .upstreamForwarding])
        let note = try #require(Semantics.observedACSNote(t))
        #expect(note.contains("3 functions") && note.contains("disable_acs_redir="))
        // As firmware, the parameter applies: RR and CR come off that port.
        var firmware = t
        for d in firmware.devices.indices where firmware.devices[d].acs != nil { firmware.devices[d].acs?.controlSource = .firmware }
        let fl = try LoadedTopology(topology: firmware)
        #expect(Semantics(fl).acsControl[i]?.contains(.requestRedirect) == false)
        #expect(Semantics.observedACSNote(firmware) == nil)
    }

    @Test("a sysfs import keeps the control it read; disable_acs_redir on the live command line is said not to be re-applied")
    func sysfsObserved() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        try buildSwitchMachine(fake)
        let r = try SysfsImporter.read(root: fake.root.path)
        #expect(r.topology.devices.filter { $0.acs != nil }.allSatisfy { $0.acs?.controlSource == .observed })
        #expect(r.warnings.contains { $0.message.contains("sets pci=disable_acs_redir=: its effect is already in the ACS control") })
        let loaded = try LoadedTopology(topology: r.topology)
        let i = try #require(loaded.enumeration.functions.firstIndex { $0.bdf == BDF("0000:02:00.0") })
        #expect(Semantics(loaded).acsControl[i] == [.requestRedirect, .completionRedirect])
    }
}
