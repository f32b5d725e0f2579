// The kernel command line decides the IOMMU mode (the <iommu> element is the hardware and the build default).
import Testing
@testable import Sim

@Suite struct IOMMUBootModeTests {
    static let body = """
        <root-port id="8086:a7bd" acs-cap="SV RR CR UF">
          <endpoint name="nvme0" id="144d:a80a"/>
        </root-port>
        <root-port id="8086:a7bd" acs-cap="SV RR CR UF">
          <endpoint name="nic0" id="15b3:1017"/>
        </root-port>
    """

    /// A VT-d or AMD-Vi machine whose `<iommu>` has the given mode (the build default).
    static func machine(kind: String, mode: String, cmdline: String) -> String {
        topologyXML("""
          <kernel cmdline="\(cmdline)"/>
          <socket id="0" cpu-vendor="\(kind == "amd-vi" ? "amd" : "intel")" cpu-family="\(kind == "amd-vi" ? "0x19" : "6")"/>
          <iommu name="u0" kind="\(kind)" mode="\(mode)"/>
          <root-complex name="rc0" iommu="u0">
        \(body)
          </root-complex>
        """)
    }

    struct Case: CustomStringConvertible, Sendable {
        var kind: String, mode: String, cmdline: String, expected: IOMMUMode
        var description: String { "\(kind) mode=\(mode) '\(cmdline)' -> \(expected.rawValue)" }
    }

    @Test("the command line sets the mode as Linux's early parameters do", arguments: [
        Case(kind: "vt-d", mode: "off", cmdline: "", expected: .off),                               // dmar_disabled by default
        Case(kind: "vt-d", mode: "off", cmdline: "intel_iommu=on", expected: .dmaFQ),               // x86 Kconfig: DMA_LAZY
        Case(kind: "vt-d", mode: "off", cmdline: "intel_iommu=on iommu.strict=1", expected: .dma),
        Case(kind: "vt-d", mode: "off", cmdline: "intel_iommu=on iommu=pt", expected: .passthrough),
        Case(kind: "vt-d", mode: "dma", cmdline: "intel_iommu=off", expected: .off),
        Case(kind: "vt-d", mode: "dma", cmdline: "iommu=off", expected: .off),
        Case(kind: "vt-d", mode: "dma", cmdline: "iommu=pt", expected: .passthrough),
        Case(kind: "vt-d", mode: "dma", cmdline: "iommu.passthrough=1", expected: .passthrough),
        Case(kind: "vt-d", mode: "passthrough", cmdline: "iommu.passthrough=0", expected: .dmaFQ),
        Case(kind: "vt-d", mode: "passthrough", cmdline: "iommu=nopt iommu.strict=1", expected: .dma),
        Case(kind: "vt-d", mode: "dma", cmdline: "iommu.strict=0", expected: .dmaFQ),
        Case(kind: "vt-d", mode: "dma", cmdline: "iommu=pt iommu.passthrough=0", expected: .dma),   // the last wins
        Case(kind: "amd-vi", mode: "dma", cmdline: "amd_iommu=off", expected: .off),
        Case(kind: "amd-vi", mode: "passthrough", cmdline: "", expected: .passthrough),
        Case(kind: "amd-vi", mode: "dma", cmdline: "intel_iommu=off", expected: .dma),              // not AMD's switch
    ])
    func mode(_ c: Case) throws {
        let s = try semanticsBoot(Self.machine(kind: c.kind, mode: c.mode, cmdline: c.cmdline))
        #expect(s.loaded.topology.iommus[0].mode == c.expected)
        #expect(s.iommuActive == [c.expected != .off])
        #expect(s.fileIOMMUModes == [IOMMUMode(rawValue: c.mode)!])
        // The fabric every reader builds from the booted machine carries the same mode (route, transport, reports).
        #expect(Fabric(s).topology.iommus[0].mode == c.expected)
    }

    @Test("intel_iommu=on turns groups on: ACS is requested and every device gets a group")
    func groupsAppear() throws {
        let off = try semanticsBoot(Self.machine(kind: "vt-d", mode: "off", cmdline: ""))
        #expect(off.iommuGroups().isEmpty && !off.acsRequested)
        var options = SemanticsOptions()
        options.kernel = KernelConfiguration(commandLine: "intel_iommu=on")
        let on = try semanticsBoot(Self.machine(kind: "vt-d", mode: "off", cmdline: ""), options)
        #expect(on.acsRequested)
        #expect(on.groupNumbers.allSatisfy { $0 != nil })
        #expect(on.iommuGroups().count >= 2)
    }

    @Test("the mapping API's default domain follows the booted mode")
    func domainType() throws {
        var options = SemanticsOptions()
        options.kernel = KernelConfiguration(commandLine: "intel_iommu=on iommu=pt")
        let loaded = try LoadedTopology(document: TopologyReader.read(text: Self.machine(kind: "vt-d", mode: "off", cmdline: ""), file: "case.xml"))
        var backend = SimulatedBackend(loaded, options: options)
        let nic = try #require(backend.fabric.enumeration.lookup("nic0"))
        let domain = backend.iommuGetDomainForDev(nic)
        #expect(domain.map { backend.domains[$0].type } == .identity)
    }

    @Test("a contradiction with the hardware is a warning, an agreeing line none")
    func contradictions() throws {
        let amd = try semanticsBoot(Self.machine(kind: "amd-vi", mode: "dma", cmdline: "intel_iommu=on"))
        #expect(amd.warnings == ["kernel command line: intel_iommu=on has no effect: the machine has no VT-d unit (its IOMMUs: u0 amd-vi)"])
        #expect(amd.loaded.topology.iommus[0].mode == .dma)
        let intel = try semanticsBoot(Self.machine(kind: "vt-d", mode: "dma", cmdline: "amd_iommu=off"))
        #expect(intel.warnings.count == 1 && intel.warnings[0].contains("amd_iommu=off has no effect"))
        let pt = try semanticsBoot(Self.machine(kind: "vt-d", mode: "dma", cmdline: "intel_iommu=off iommu=pt"))
        #expect(pt.warnings == ["kernel command line: iommu=pt has no effect: no IOMMU is active on this machine"])
        let fine = try semanticsBoot(Self.machine(kind: "vt-d", mode: "off", cmdline: "intel_iommu=on iommu=pt"))
        #expect(fine.warnings.isEmpty)
    }

    @Test("--append-cmdline adds to the topology's line; later options win")
    func appending() {
        let k = KernelConfiguration(commandLine: "intel_iommu=off pci=noats", version: .linux61)
        let a = k.appending("  intel_iommu=on ")
        #expect(a.commandLine == "intel_iommu=off pci=noats intel_iommu=on" && a.version == .linux61)
        #expect(KernelParameters.parse(a).intelIOMMU == true)
        #expect(KernelConfiguration().appending("iommu=pt").commandLine == "iommu=pt")
        #expect(k.appending(" ") == k)
    }
}

@Suite struct DidYouMeanTests {
    @Test("Levenshtein distance and the nearest names")
    func nearest() {
        #expect(DidYouMean.distance("kitten", "sitting") == 3)
        #expect(DidYouMean.distance("", "abc") == 3 && DidYouMean.distance("gpu0", "gpu0") == 0)
        #expect(DidYouMean.candidates("nvmee0", among: ["nic0", "nvme0", "nvme1", "sw0"]) == ["nvme0"])
        #expect(DidYouMean.candidates("p2p-matrx", among: ["p2p-matrix", "h2d", "d2h"]) == ["p2p-matrix"])
        #expect(DidYouMean.candidates("zzzzzz", among: ["gpu0", "nic0"]).isEmpty)
        #expect(DidYouMean.hint("gpu9", among: ["gpu0", "gpu1", "gpu2", "gpu3"]) == "; did you mean gpu0, gpu1 or gpu2?")
        #expect(DidYouMean.hint("GPU1", among: ["gpu1"]) == "; did you mean gpu1?")
    }
}
