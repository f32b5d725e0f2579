// The assembler shared by every importer: shapes the format cannot hold, gaps, and facts that do not check out.
import Testing
@testable import Sim

/// A function with the facts the assembler needs, for hand-built machines.
func importedFunction(_ bdf: String, parent: String? = nil, id: String = "1234:0001", classCode: UInt32, port: PCIePortType? = nil,
                      secondary: UInt8? = nil, subordinate: UInt8? = nil) -> ImportedFunction {
    var f = ImportedFunction(bdf: BDF(bdf)!, parent: parent.flatMap { BDF($0) })
    f.id = PCIID(id)
    f.classCode = classCode
    f.portType = port
    f.isPCIe = port != nil
    f.secondaryBus = secondary
    f.subordinateBus = subordinate
    f.acsKnown = true
    f.barsKnown = true
    f.maxPayloadSupported = 256
    f.maxReadRequest = 512
    if port != nil {
        f.maxLinkGeneration = .gen4
        f.maxLinkWidth = 16
    }
    return f
}

func importedMachine(_ functions: [ImportedFunction]) -> ImportedMachine {
    var m = ImportedMachine(format: "test", origin: "test-machine")
    m.cpu = ImportedCPU(vendor: .intel, family: 6)
    m.functions = functions
    return m
}

@Suite("imported facts become a topology (TopologyAssembler)")
struct ImportAssemblerTests {
    @Test("a host bridge with sibling functions at 00.x stays a device at 00.0, so every device has function 0")
    func hostBridgeSiblings() throws {
        let r = try TopologyAssembler.assemble(importedMachine([
            importedFunction("0000:00:00.0", id: "8086:09a2", classCode: 0x06_00_00),
            importedFunction("0000:00:00.1", id: "8086:09a4", classCode: 0x08_80_00),
            importedFunction("0000:00:00.2", id: "8086:09a3", classCode: 0x08_80_00),
        ]))
        #expect(r.topology.rootComplexes[0].hostBridgeID == nil)
        #expect(r.topology.devices.first?.endpoint?.endpointClass == .hostBridge)
        #expect(r.enumeration.rootComplexes[0].hostBridgeFunctionID == PCIID("8086:09a2"))
        #expect(r.warnings.isEmpty)
    }

    @Test("shapes the format cannot hold are left out with a warning each, with what sits below them")
    func unrepresentable() throws {
        let r = try TopologyAssembler.assemble(importedMachine([
            importedFunction("0000:00:01.0", classCode: 0x06_04_00, port: .rootPort, secondary: 1, subordinate: 3),
            importedFunction("0000:01:00.0", parent: "0000:00:01.0", classCode: 0x06_04_00, port: .upstreamPort, secondary: 2, subordinate: 3),
            importedFunction("0000:01:00.1", parent: "0000:00:01.0", classCode: 0x05_80_00, port: .endpoint),   // beside the switch
            importedFunction("0000:02:00.0", parent: "0000:01:00.0", classCode: 0x06_04_00, port: .downstreamPort, secondary: 3, subordinate: 3),
            importedFunction("0000:02:1f.0", parent: "0000:01:00.0", classCode: 0x05_80_00, port: .endpoint),   // on the internal bus
            importedFunction("0000:03:00.0", parent: "0000:02:00.0", classCode: 0x02_00_00, port: .endpoint),
            importedFunction("0000:03:02.0", parent: "0000:02:00.0", classCode: 0x02_00_00, port: .endpoint),   // ARI
            importedFunction("0000:07:00.0", parent: "0000:06:00.0", classCode: 0x02_00_00, port: .endpoint),   // orphan
        ]))
        let messages = r.warnings.map(\.message)
        #expect(messages.contains { $0.hasPrefix("0000:01:00.1 left out: a port leads to one device") })
        #expect(messages.contains { $0.hasPrefix("0000:02:1f.0 left out: an endpoint on a switch's internal bus") })
        #expect(messages.contains { $0.hasPrefix("0000:03:02.0 left out: device number 2 below a PCIe port") })
        #expect(messages.contains { $0 == "0000:07:00.0 left out: its upstream bridge 0000:06:00.0 is not in the input" })
        #expect(r.topology.devices.map(\.name) == ["rp-00-01.0", "sw-01-00.0", "dp-02-00.0", "nic0"])
    }

    @Test("facts that do not check out are relaxed, in order, with a warning each; the result enumerates")
    func relaxation() throws {
        // The second root port's secondary bus lies inside the first one's range: bus numbers cannot be kept.
        let r = try TopologyAssembler.assemble(importedMachine([
            importedFunction("0000:00:01.0", classCode: 0x06_04_00, port: .rootPort, secondary: 1, subordinate: 5),
            importedFunction("0000:01:00.0", parent: "0000:00:01.0", classCode: 0x02_00_00, port: .endpoint),
            importedFunction("0000:00:02.0", classCode: 0x06_04_00, port: .rootPort, secondary: 3, subordinate: 3),
            importedFunction("0000:03:00.0", parent: "0000:00:02.0", classCode: 0x02_00_00, port: .endpoint),
        ]))
        let messages = r.warnings.map(\.message)
        #expect(messages.contains { $0.hasPrefix("the machine's bus numbers do not check out") })
        #expect(r.topology.devices.allSatisfy { $0.bridge.secondaryBus == nil })
        #expect(r.topology.devices.map(\.deviceNumber) == [1, 0, 2, 0])
        #expect(r.assumptions.contains { $0.hasPrefix("the machine's bus numbers do not check out") })
    }

    @Test("a device without function 0 keeps its functions' numbers; a placeholder function 0 is added with a warning")
    func missingFunctionZero() throws {
        let r = try TopologyAssembler.assemble(importedMachine([
            importedFunction("0000:00:1f.3", classCode: 0x04_03_00),
            importedFunction("0000:00:1f.4", classCode: 0x0C_05_00),
        ]))
        #expect(r.topology.devices.map(\.functionNumber) == [0, 3, 4])
        #expect(r.topology.devices.map(\.deviceNumber) == [0x1f, 0x1f, 0x1f])
        #expect(r.topology.devices[0].id == PCIID(vendor: 0xFFFF, device: 0xFFFF))
        #expect(r.topology.devices[0].parameters.contains { $0.value.contains("placeholder for function 0") })
        #expect(r.warnings.contains { $0.message.contains("0000:00:1f.3: function 0 of its device (0000:00:1f.0) is not in the input") })
        #expect(r.summary.placeholders == [BDF("0000:00:1f.0")!])
        #expect(r.summary.read == 2 && r.summary.placed == 2 && !r.summary.isLossless)
        #expect(!r.warnings.contains { $0.message.contains("do not check out") })
    }

    @Test("the summary counts synthesized functions apart from those read, and an importer's per-function assumption is a warning")
    func summaryCountsSynthesized() throws {
        var port = importedFunction("0000:00:01.0", classCode: 0x06_04_00, port: .rootPort, secondary: 1, subordinate: 1)
        port.isSynthetic = true
        port.assumptions.append("synthesized root port above 0000:01:00.0")
        var gpu = importedFunction("0000:01:00.0", parent: "0000:00:01.0", classCode: 0x03_02_00, port: .endpoint)
        gpu.line = 7
        gpu.assumptions.append("class code taken as a 3D controller")
        let r = try TopologyAssembler.assemble(importedMachine([port, gpu]))
        #expect(r.summary.read == 1 && r.summary.placed == 1 && r.summary.synthesized == 1)
        #expect(r.summary.text.contains("1 function synthesized where the format leaves them out"))
        #expect(r.warnings.contains { $0.line == 7 && $0.message == "0000:01:00.0: class code taken as a 3D controller" })
        #expect(r.warnings.contains { $0.message == "0000:00:01.0: synthesized root port above 0000:01:00.0" })
    }

    @Test("a validation error of the written topology is told in the input's terms: BDF and line of the function")
    func validationErrorsNameTheInput() throws {
        var gpu = importedFunction("0000:01:00.0", parent: "0000:00:01.0", classCode: 0x03_02_00, port: .endpoint)
        gpu.line = 42
        var state = AssemblyState(machine: importedMachine([
            importedFunction("0000:00:01.0", classCode: 0x06_04_00, port: .rootPort, secondary: 1, subordinate: 1), gpu,
        ]), options: ImportOptions())
        state.build()
        let name = try #require(state.topology.devices.last?.name)
        let cause = state.inputCause(Diagnostic(file: "<imported>", line: 9, severity: .error, message: "'\(name)' has a BAR that does not fit"))
        #expect(cause.line == 42 && cause.file == "test-machine")
        #expect(cause.message == "0000:01:00.0 (line 42): '\(name)' has a BAR that does not fit")
        let other = state.inputCause(Diagnostic(file: "<imported>", line: 3, severity: .error, message: "bus ranges overlap"))
        #expect(other.line == nil && other.message == "bus ranges overlap")
    }

    @Test("impossible register values are dropped with a note, never an error")
    func impossibleValues() throws {
        var rp = importedFunction("0000:00:01.0", classCode: 0x06_04_00, port: .rootPort, secondary: 1, subordinate: 1)
        rp.acs = ACSState(capability: [.sourceValidation], control: [.sourceValidation, .requestRedirect], egressVector: [3])
        var ep = importedFunction("0000:01:00.0", parent: "0000:00:01.0", classCode: 0x03_02_00, port: .endpoint)
        ep.linkGeneration = .gen5                 // LnkSta above LnkCap
        ep.maxLinkWidth = 3                       // not a PCIe width
        ep.bars = [ImportedBAR(index: 0, size: 3000, address: nil, is64Bit: false, isPrefetchable: false)]
        let r = try TopologyAssembler.assemble(importedMachine([rp, ep]))
        let port = r.topology.devices[0]
        #expect(port.acs == ACSState(capability: [.sourceValidation], control: [.sourceValidation]))
        #expect(port.parameters.contains { $0.value.contains("ACS control has RR set without the capability") })
        let gpu = r.topology.devices[1]
        #expect(gpu.linkWidth == nil && gpu.trainedGeneration == nil && gpu.bars.isEmpty)
        #expect(gpu.parameters.contains { $0.value.contains("LnkSta speed 32GT/s is above LnkCap") })
        #expect(gpu.parameters.contains { $0.value.contains("BAR 0 size 3000 is not a power of two") })
    }

    @Test("nothing usable is an error")
    func nothing() throws {
        let error = try #require(throws: DiagnosticError.self) { try TopologyAssembler.assemble(importedMachine([])) }
        #expect(error.errors.map(\.description) == ["test-machine: error: no PCI functions found in test input"])
    }

    @Test("names: valid source names are kept, generated names never collide with them")
    func names() throws {
        var a = importedFunction("0000:00:02.0", classCode: 0x02_00_00)
        a.name = "nic1"
        var b = importedFunction("0000:00:01.0", classCode: 0x02_00_00)
        b.name = "bad name!"
        let r = try TopologyAssembler.assemble(importedMachine([a, b]))
        #expect(r.topology.devices.map(\.name) == ["nic0", "nic1"])
        #expect(TopologyAssembler.sanitizedName("9 lives/x", fallback: "f") == "m9-lives-x")
    }
}
