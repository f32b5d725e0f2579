// The machine-wide ACS fix: one line that the semantics, booted with it, confirms; conflicts with isolation named.
import Foundation
import Testing
@testable import Sim

private func shipped(_ name: String) throws -> LoadedTopology {
    var url = URL(fileURLWithPath: #filePath)
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { url.deleteLastPathComponent() }
    return try LoadedTopology.load(path: url.appendingPathComponent("topologies/\(name).xml").path)
}

/// The shipped NVMe-oF machine with its IOMMU on (DMA mode, no command line): groups exist.
private func nvmeofWithIOMMU() throws -> LoadedTopology {
    var t = try shipped("nvmeof-switch-acs-on").topology
    t.kernel.commandLine = ""
    for i in t.iommus.indices { t.iommus[i].mode = .dma }
    return try LoadedTopology(topology: t)
}

@Suite("ACSRedirectFix: one ACS change for the machine")
struct ACSRedirectFixTests {
    @Test("nvmeof-switch-acs-on: one device-ID line makes every pair BUS_ADDR, checked by booting it")
    func nvmeofOneLine() throws {
        let loaded = try shipped("nvmeof-switch-acs-on")
        let before = Semantics(loaded)
        let fabric = Fabric(loaded, acsControl: before.acsControl)
        let pairs = ACSRedirectFix.defaultPairs(before, fabric: fabric)
        #expect(pairs.count == 6)
        #expect(pairs.allSatisfy { before.p2pdma(provider: $0.provider, client: $0.client, verbose: false).mapType == .notSupported })
        let fix = ACSRedirectFix(loaded, required: pairs, isolated: [])
        let chosen = try #require(fix.chosen)
        #expect(chosen.change == "pci=disable_acs_redir=pci:10b5:8747")
        // Verify independently: boot the printed command line through the semantics, as --cmdline does.
        let line = try #require(chosen.commandLine)
        #expect(line == "intel_iommu=off pci=disable_acs_redir=pci:10b5:8747")
        let after = Semantics(loaded, options: SemanticsOptions(kernel: KernelConfiguration(commandLine: line, version: loaded.topology.kernel.version)))
        for p in pairs {
            #expect(after.p2pdma(provider: p.provider, client: p.client, verbose: false).mapType == .busAddress)
        }
        #expect(fix.conflicts.isEmpty && fix.unfixable.isEmpty)
        // The firmware alternative holds here: no IOMMU, so Linux does not set RR/CR again at boot.
        #expect(fix.candidates.contains { $0.kind == .firmware && $0.holds })
        #expect(fix.candidates.contains { $0.kind == .configACS && $0.holds })
    }

    @Test("an isolation requirement on the required pair's own device is a conflict naming pair, port and device")
    func conflictNamed() throws {
        let loaded = try nvmeofWithIOMMU()
        let e = loaded.enumeration
        let nic = try #require(e.lookup("nic0")), nvme = try #require(e.lookup("nvme0"))
        let dp0 = try #require(e.functions[nic].upstreamBridge)
        let fix = ACSRedirectFix(loaded, required: [.init(provider: nvme, client: nic), .init(provider: nic, client: nvme)], isolated: [nic])
        #expect(fix.chosen == nil)
        #expect(!fix.conflicts.isEmpty)
        #expect(fix.conflicts.allSatisfy { $0.isolated == nic && $0.port == dp0 })
        #expect(fix.conflicts.contains { $0.pair == .init(provider: nvme, client: nic) })
        #expect(fix.conflicts[0].mergedWith.contains(e.functions[dp0].bdf))
    }

    @Test("an isolated device elsewhere on the switch: the ID form is refused and the BDF list keeps its group")
    func idFormFallsBackToBDFs() throws {
        let loaded = try nvmeofWithIOMMU()
        let e = loaded.enumeration
        let nic = try #require(e.lookup("nic0")), nvme = try #require(e.lookup("nvme0")), other = try #require(e.lookup("nvme1"))
        let pairs: [ACSRedirectFix.Pair] = [.init(provider: nvme, client: nic), .init(provider: nic, client: nvme)]
        let fix = ACSRedirectFix(loaded, required: pairs, isolated: [other])
        let chosen = try #require(fix.chosen)
        #expect(!chosen.change.contains("pci:10b5:8747"))
        #expect(fix.rejected.contains { $0.change == "pci=disable_acs_redir=pci:10b5:8747" })
        let line = try #require(chosen.commandLine)
        let after = Semantics(loaded, options: SemanticsOptions(kernel: KernelConfiguration(commandLine: line)))
        for p in pairs { #expect(after.p2pdma(provider: p.provider, client: p.client, verbose: false).mapType == .busAddress) }
        let groupOf = { (s: Semantics) in s.iommuGroups().first { $0.members.contains { $0.function == other } }?.names }
        #expect(groupOf(after) == groupOf(Semantics(loaded)))
        #expect(groupOf(after) == [e.functions[other].bdf.description])
        // The cost: the pair's devices each share a group with their downstream port now.
        #expect(fix.mergedGroups.count == 2)
        // The firmware change does not hold: the active IOMMU makes Linux enable RR and CR again.
        #expect(fix.candidates.contains { $0.kind == .firmware && !$0.holds })
    }

    @Test("a pair under different root ports cannot be fixed by ACS: it is reported, not given a line")
    func unfixable() throws {
        let loaded = try shipped("xeon-not-whitelisted")
        let s = Semantics(loaded)
        let e = loaded.enumeration
        let eps = e.functions.indices.filter { e.functions[$0].kind == .endpoint && e.functions[$0].device.flatMap { loaded.topology.devices[$0].endpoint?.endpointClass } != .hostBridge }
        let pair = eps.flatMap { p in eps.filter { $0 != p }.map { ACSRedirectFix.Pair(provider: p, client: $0) } }
            .first { s.p2pdma(provider: $0.provider, client: $0.client, verbose: false).commonUpstream == nil }
        let p = try #require(pair)
        let fix = ACSRedirectFix(loaded, required: [p], isolated: [])
        #expect(fix.unfixable.count == 1 && fix.chosen == nil)
    }
}
