// The generator's contract: machines of the asked shape that enumerate cleanly, the same for a seed,
// and that read back from their own topology file; capacity problems refused with a reason.
import Testing
@testable import Sim

/// One row of the generator table: a label for the test report and the parameters.
struct GeneratorCase: Sendable, CustomTestStringConvertible {
    var label: String
    var parameters: GeneratorParameters
    var testDescription: String { label }

    init(_ label: String, _ configure: (inout GeneratorParameters) -> Void) {
        self.label = label
        var p = GeneratorParameters()
        configure(&p)
        parameters = p
    }

    /// Endpoints the parameters ask for, computed independently of the generator.
    var expectedEndpoints: Int {
        let p = parameters
        let rootPorts = p.sockets * p.rootComplexesPerSocket * p.rootPortsPerRootComplex
        if p.switchLevels == 0 { return rootPorts }
        var leaves = rootPorts
        for _ in 1..<p.switchLevels { leaves *= p.fanout }
        return leaves * p.endpointsPerLeaf
    }

    /// Buses below one root complex's root bus: one per root port, switch upstream port and downstream port.
    var busesPerRootComplex: Int {
        let p = parameters
        var below = 0   // buses a switch of the current level and its subtree use
        if p.switchLevels > 0 {
            below = 1 + p.endpointsPerLeaf
            for _ in 1..<p.switchLevels { below = 1 + p.fanout + p.fanout * below }
        }
        return p.rootPortsPerRootComplex * (1 + below)
    }
}

let generatorCases: [GeneratorCase] = [
    GeneratorCase("defaults: 1 socket, 4 root ports, one switch each, 2 GPU + NIC + NVMe") { _ in },
    GeneratorCase("no switches, 2 sockets, AMD, ACS off") {
        $0.sockets = 2; $0.switchLevels = 0; $0.cpuVendor = .amd; $0.acs = false
    },
    GeneratorCase("2 sockets x 2 root complexes, 2 levels fanout 2, Arm") {
        $0.sockets = 2; $0.rootComplexesPerSocket = 2; $0.rootPortsPerRootComplex = 2; $0.switchLevels = 2; $0.fanout = 2
        $0.cpuVendor = .arm; $0.iommuMode = .dmaFQ
    },
    GeneratorCase("4 sockets, 3 levels fanout 2, GPU + NVMe, one segment") {
        $0.sockets = 4; $0.rootPortsPerRootComplex = 2; $0.switchLevels = 3; $0.fanout = 2
        $0.gpusPerSwitch = 1; $0.nicsPerSwitch = 0; $0.nvmePerSwitch = 1
    },
    GeneratorCase("4 root complexes, FPGAs and generic endpoints, Gen5 x8") {
        $0.rootComplexesPerSocket = 4; $0.gpusPerSwitch = 0; $0.nicsPerSwitch = 0; $0.nvmePerSwitch = 0
        $0.fpgasPerSwitch = 2; $0.genericPerSwitch = 2; $0.generation = .gen5; $0.width = 8
    },
    GeneratorCase("4 sockets x 4 root complexes, 8 root ports, no switches, passthrough") {
        $0.sockets = 4; $0.rootComplexesPerSocket = 4; $0.rootPortsPerRootComplex = 8; $0.switchLevels = 0
        $0.fpgasPerSwitch = 1; $0.iommuMode = .passthrough
    },
    GeneratorCase("segment per root complex: 2 sockets x 2, 2 levels fanout 4, 64 GPUs") {
        $0.sockets = 2; $0.rootComplexesPerSocket = 2; $0.switchLevels = 2; $0.fanout = 4
        $0.gpusPerSwitch = 1; $0.nicsPerSwitch = 1; $0.nvmePerSwitch = 0; $0.genericPerSwitch = 2
    },
    GeneratorCase("more than 64 GPUs: small VRAM apertures") {
        $0.sockets = 2; $0.rootComplexesPerSocket = 2; $0.rootPortsPerRootComplex = 4; $0.switchLevels = 1
        $0.gpusPerSwitch = 5; $0.nicsPerSwitch = 1; $0.nvmePerSwitch = 0
    },
    GeneratorCase("QEMU, Intel: one level, 2 NVMe + e1000e") {
        $0.qemuCompatible = true; $0.gpusPerSwitch = 0; $0.nvmePerSwitch = 2
    },
    GeneratorCase("QEMU, AMD: 2 root complexes (pxb), 2 levels fanout 2") {
        $0.qemuCompatible = true; $0.cpuVendor = .amd; $0.rootComplexesPerSocket = 2; $0.rootPortsPerRootComplex = 2
        $0.switchLevels = 2; $0.fanout = 2; $0.gpusPerSwitch = 0
    },
    GeneratorCase("QEMU, Arm: no switches, ACS off") {
        $0.qemuCompatible = true; $0.cpuVendor = .arm; $0.switchLevels = 0; $0.gpusPerSwitch = 0; $0.acs = false
        $0.rootPortsPerRootComplex = 6
    },
    GeneratorCase("Arm, 3 levels fanout 3, one leaf endpoint each") {
        $0.cpuVendor = .arm; $0.rootPortsPerRootComplex = 1; $0.switchLevels = 3; $0.fanout = 3
        $0.gpusPerSwitch = 0; $0.nicsPerSwitch = 0; $0.nvmePerSwitch = 1
    },
    GeneratorCase("1,024 endpoints: 2 sockets x 4 root complexes, 2 levels fanout 4, 16 per leaf") {
        $0.sockets = 2; $0.rootComplexesPerSocket = 4; $0.rootPortsPerRootComplex = 2; $0.switchLevels = 2; $0.fanout = 4
        $0.gpusPerSwitch = 0; $0.nicsPerSwitch = 2; $0.nvmePerSwitch = 1; $0.fpgasPerSwitch = 1; $0.genericPerSwitch = 12
    },
    GeneratorCase("10,000 endpoints: 2 sockets x 25 root complexes, 2 levels fanout 4, 25 per leaf") {
        $0.sockets = 2; $0.rootComplexesPerSocket = 25; $0.rootPortsPerRootComplex = 2; $0.switchLevels = 2; $0.fanout = 4
        $0.gpusPerSwitch = 0; $0.nicsPerSwitch = 1; $0.nvmePerSwitch = 1; $0.genericPerSwitch = 23; $0.cpuVendor = .amd
    },
]

@Test("generated machines have the asked shape and enumerate without errors", arguments: generatorCases)
func generatedMachineEnumerates(_ c: GeneratorCase) throws {
    let p = c.parameters
    let t = try TopologyGenerator.generate(p)
    let enumeration = try Enumerator.enumerate(t)
    #expect(enumeration.functions.count == t.devices.count)

    let endpoints = t.devices.filter { $0.kind == .endpoint }
    #expect(endpoints.count == c.expectedEndpoints)
    if p.switchLevels > 0 {
        let leaves = c.expectedEndpoints / p.endpointsPerLeaf
        for (cls, perLeaf) in [(EndpointClass.gpu, p.gpusPerSwitch), (.nic, p.nicsPerSwitch), (.nvme, p.nvmePerSwitch),
                               (.fpga, p.fpgasPerSwitch), (.generic, p.genericPerSwitch)] {
            #expect(endpoints.count { $0.endpoint?.endpointClass == cls } == leaves * perLeaf, "\(cls)")
        }
    }

    // Sockets, interconnect, one IOMMU per root complex.
    #expect(t.sockets.count == p.sockets)
    #expect(t.socketLinks.count == p.sockets - 1)
    #expect(t.rootComplexes.count == p.sockets * p.rootComplexesPerSocket)
    #expect(t.iommus.count == t.rootComplexes.count)
    #expect(t.iommus.allSatisfy { $0.mode == p.iommuMode })
    let iommuKind: IOMMUKind = switch p.cpuVendor {
    case .amd: .amdVi
    case .arm: .smmuv3
    default: .vtd
    }
    #expect(t.iommus.allSatisfy { $0.kind == iommuKind })
    for (r, rc) in t.rootComplexes.enumerated() {
        #expect(rc.name == "rc\(r)")
        #expect(rc.socket == r / p.rootComplexesPerSocket)
        #expect(rc.iommu == "iommu\(r)")
        #expect(rc.defaultLink == LinkCapability(generation: p.generation, width: p.width))
    }

    // One segment when every root complex's buses fit in 256, else a segment each.
    let sharesSegment = t.rootComplexes.count * (1 + c.busesPerRootComplex) <= 256
    for (r, rc) in t.rootComplexes.enumerated() {
        #expect(rc.segment == (sharesSegment ? 0 : UInt16(r)))
        #expect(rc.rootBus == nil)
        let range = enumeration.rootComplexes[r].busRange
        #expect(Int(range.upperBound) - Int(range.lowerBound) == c.busesPerRootComplex)
    }

    // Ports: default names, ACS as asked; switches numbered globally.
    let (children, _) = t.childrenIndex()
    var switchNames: [String] = []
    for (d, dev) in t.devices.enumerated() {
        switch dev.kind {
        case .rootPort, .switchDownstreamPort:
            if p.acs {
                #expect(dev.acs?.control == [])
                #expect(dev.acs?.capability.isSuperset(of: [.sourceValidation, .requestRedirect, .completionRedirect,
                                                            .upstreamForwarding, .translationBlocking, .directTranslatedP2P]) == true)
            } else {
                #expect(dev.acs == nil)
            }
            #expect(children[d].count == 1)
        case .switchUpstreamPort:
            switchNames.append(dev.name)
            for (k, port) in children[d].enumerated() {
                #expect(t.devices[port].name == TopologyNaming.defaultName(kind: .switchDownstreamPort, parentName: dev.name, ordinal: k))
            }
        default:
            break
        }
    }
    #expect(switchNames == switchNames.indices.map { "sw\($0)" })
    for (r, _) in t.rootComplexes.enumerated() {
        let ports = t.devices.filter { $0.parent == nil && $0.rootComplex == r }
        #expect(ports.map(\.name) == (0..<p.rootPortsPerRootComplex).map { "rc\(r).rp\($0)" })
    }

    // Endpoint properties that do not depend on the seed.
    for e in endpoints {
        let info = try #require(e.endpoint)
        switch info.endpointClass {
        case .gpu:
            #expect(info.supportsATS && info.dma.tagBits == 10)
            let gpus = endpoints.count { $0.endpoint?.endpointClass == .gpu }
            #expect(e.bars.last?.size == (gpus <= 64 ? 32 << 30 : 256 << 20))
        case .nic:
            #expect(info.supportsATS == !p.qemuCompatible)
            #expect(e.linkWidth == (p.qemuCompatible ? 1 : 16))
        case .nvme:
            #expect(e.linkWidth == 4)
            #expect(info.p2pmem == [P2PMemRegion(bar: 2)])
        default:
            #expect(info.dma.tagBits == 8)
        }
        if p.qemuCompatible {
            #expect([PCIID(vendor: 0x1b36, device: 0x0010), PCIID(vendor: 0x8086, device: 0x10d3)].contains(e.id))
        }
    }
}

@Test("the same parameters give the same machine; another seed shuffles it", arguments: generatorCases)
func generatorIsDeterministic(_ c: GeneratorCase) throws {
    let t = try TopologyGenerator.generate(c.parameters)
    #expect(try TopologyGenerator.generate(c.parameters) == t)

    // The seed picks device IDs and shuffles classes among slots: it matters when there is a choice.
    let p = c.parameters
    let classes = [p.gpusPerSwitch, p.nicsPerSwitch, p.nvmePerSwitch, p.fpgasPerSwitch, p.genericPerSwitch].count { $0 > 0 }
    let seedMatters = classes > 1 || !p.qemuCompatible
    guard seedMatters else { return }
    var others: [Topology] = []
    for seed in 2...9 as ClosedRange<UInt64> {
        var q = p
        q.seed = seed
        let other = try TopologyGenerator.generate(q)
        // Only the choices differ: the same number of devices of the same kinds.
        #expect(other.devices.map(\.kind) == t.devices.map(\.kind))
        others.append(other)
    }
    #expect(others.contains { $0.devices != t.devices }, "seeds 2...9 all gave the machine seed \(p.seed) gives")
}

@Test("a generated machine reads back from its own topology file", arguments: generatorCases)
func generatedMachineRoundTrips(_ c: GeneratorCase) throws {
    let t = try TopologyGenerator.generate(c.parameters)
    let text = TopologyWriter.write(t)
    let document = try TopologyReader.read(text: text, file: "generated-\(c.parameters.name).xml")
    #expect(document.topology == t)
}

/// A parameter set the generator must refuse, and a phrase its message must contain.
struct RefusedCase: Sendable, CustomTestStringConvertible {
    var label: String
    var parameters: GeneratorParameters
    var phrase: String
    var testDescription: String { label }

    init(_ label: String, expecting phrase: String, _ configure: (inout GeneratorParameters) -> Void) {
        self.label = label
        self.phrase = phrase
        var p = GeneratorParameters()
        configure(&p)
        parameters = p
    }
}

let refusedCases: [RefusedCase] = [
    RefusedCase("one root complex needs more than 255 buses", expecting: "root ports per root complex (8)") {
        $0.rootPortsPerRootComplex = 8; $0.switchLevels = 2; $0.fanout = 8
    },
    RefusedCase("GPUs overflow the 32-bit MMIO hole", expecting: "non-prefetchable MMIO") {
        $0.sockets = 4; $0.rootComplexesPerSocket = 4; $0.rootPortsPerRootComplex = 4; $0.gpusPerSwitch = 4
    },
    RefusedCase("NVMe drives overflow the 32-bit MMIO hole", expecting: "NVMe drives (8)") {
        $0.sockets = 4; $0.rootComplexesPerSocket = 16; $0.rootPortsPerRootComplex = 4
        $0.gpusPerSwitch = 0; $0.nicsPerSwitch = 0; $0.nvmePerSwitch = 8
    },
    RefusedCase("QEMU has no GPUs", expecting: "set the GPUs per switch to 0") { $0.qemuCompatible = true },
    RefusedCase("QEMU has one segment", expecting: "single segment") {
        $0.qemuCompatible = true; $0.gpusPerSwitch = 0; $0.rootComplexesPerSocket = 8; $0.nvmePerSwitch = 6
    },
    RefusedCase("no endpoints", expecting: "add up to 0") {
        $0.gpusPerSwitch = 0; $0.nicsPerSwitch = 0; $0.nvmePerSwitch = 0
    },
    RefusedCase("too many downstream ports", expecting: "at most 32 downstream ports") { $0.genericPerSwitch = 30 },
    RefusedCase("no platform model for zhaoxin", expecting: "CPU vendor zhaoxin") { $0.cpuVendor = .zhaoxin },
    RefusedCase("odd link width", expecting: "link width is x3") { $0.width = 3 },
    RefusedCase("32 root ports", expecting: "1 to 31") { $0.rootPortsPerRootComplex = 32 },
    RefusedCase("a name the schema refuses", expecting: "not a valid topology name") { $0.name = "my machine" },
]

@Test("parameters the machine cannot hold are refused with the reason", arguments: refusedCases)
func generatorRefuses(_ c: RefusedCase) {
    do {
        let t = try TopologyGenerator.generate(c.parameters)
        Issue.record("generated \(t.devices.count) devices instead of refusing")
    } catch {
        #expect(error.diagnostics.contains { $0.severity == .error && $0.message.contains(c.phrase) }, "\(error)")
    }
}

@Test("every parameter problem is reported at once")
func generatorReportsAllProblems() {
    var p = GeneratorParameters()
    p.sockets = 0
    p.width = 5
    p.gpusPerSwitch = -1
    do {
        _ = try TopologyGenerator.generate(p)
        Issue.record("invalid parameters accepted")
    } catch {
        #expect(error.errors.count == 3, "\(error)")
    }
}
