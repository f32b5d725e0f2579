// simrun route (and, with the semantics layer, groups and p2p): answers from the one implementation in Sim.
import ArgumentParser
import Foundation
import Sim

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Print every hop of a TLP and the verdict at each port (ACS after Linux's boot-time enable).")

    @Argument(help: "Topology XML file.") var file: String
    @Option(help: "Requester: device name or BDF.") var from: String
    @Option(help: "Target: a device (its first prefetchable BAR, else BAR 0), or an address (0x...).") var to: String
    @Flag(help: "A memory read (default: a memory write).") var read = false
    @Flag(help: "An ATS-translated request (AT=10b).") var translated = false
    @Flag(help: "Set Relaxed Ordering (its read completions are not redirected by ACS CR).") var relaxedOrdering = false
    @Flag(help: "Use the ACS control as firmware left it, not as Linux leaves it after boot.") var firmwareACS = false
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var kernel: KernelLineOptions

    func run() throws {
        let loaded = try loadTopology(file)
        let semantics = kernel.boot(loaded, file: file)
        let fabric = Fabric(semantics.loaded, acsControl: firmwareACS ? nil : semantics.acsControl)
        guard let requester = loaded.enumeration.lookup(from) else {
            throw ValidationError("no device '\(from)' in \(file)\(loaded.enumeration.didYouMean(from)) (give a name or a BDF)")
        }
        let address: UInt64
        if to.hasPrefix("0x"), let a = parseInteger(to) {
            address = a
        } else if let target = loaded.enumeration.lookup(to) {
            guard let a = fabric.defaultTargetAddress(function: target) else {
                throw ValidationError("'\(to)' has no BAR to target; give an address")
            }
            address = a
        } else {
            throw ValidationError("no device '\(to)' in \(file), and not an address\(loaded.enumeration.didYouMean(to))")
        }
        let request = TLPRequest(kind: read ? .memoryRead : .memoryWrite, requester: requester, address: address,
                                 addressType: translated ? .translated : .untranslated, relaxedOrdering: relaxedOrdering)
        let route = Router(fabric).route(request)
        if format == .json {
            print(route.json(fabric).serialized())
            return
        }
        print(route.text(fabric), terminator: "")
        if route.hops.contains(where: { if case .translate(.translated) = $0.action { return true } else { return false } }) {
            print("note: the requester's DMA domain is assumed to map this address 1:1; scenarios map through the mapping API")
        }
    }
}

struct GroupsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "IOMMU groups as /sys/kernel/iommu_groups would list them (Linux's pci_device_group rules).")

    @Argument(help: "Topology XML file.") var file: String
    @Flag(help: "Append each device's name.") var names = false
    @Flag(help: "Also print the kernel's boot log lines about ACS and groups (to stderr).") var kernelLog = false
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var kernel: KernelLineOptions

    func run() throws {
        let loaded = try loadTopology(file)
        let semantics = kernel.boot(loaded, file: file)
        let groups = semantics.iommuGroups()
        if kernelLog { for line in semantics.kernelLog { printError(line) } }
        let e = loaded.enumeration
        switch format {
        case .text:
            if groups.isEmpty { printError("\(file): note: no IOMMU is active, so Linux forms no IOMMU groups") }
            for g in groups {
                for m in g.members {
                    var line = "/sys/kernel/iommu_groups/\(g.number)/devices/\(m.bdf)"
                    if names, let f = m.function { line += "  \(e.functions[f].name)" }
                    print(line)
                }
            }
        case .json:
            let json = JSON.array(groups.map { g in
                .object([("group", .int(Int64(g.number))),
                         ("devices", .array(g.members.map { m in
                             .object([("bdf", .string(m.bdf.description)), ("name", JSON(m.function.map { e.functions[$0].name }))])
                         }))])
            })
            print(json.serialized())
        }
    }
}

struct P2PCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p2p",
        abstract: "p2pdma map type, distance and path class (PIX/PXB/PHB/NODE/SYS) for every endpoint pair, or one pair with the kernel's warning lines.")

    @Argument(help: "Topology XML file.") var file: String
    @Option(help: "Provider (device name or BDF) for a single pair.") var provider: String?
    @Option(help: "Client (device name or BDF) for a single pair.") var client: String?
    @Option(help: "Output format: text, json, or topo-m (the GPU/NIC matrix in nvidia-smi topo -m's layout).") var format: P2PFormat = .text

    @OptionGroup var kernel: KernelLineOptions

    enum P2PFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json, topoM = "topo-m"
    }

    func run() throws {
        let loaded = try loadTopology(file)
        let semantics = kernel.boot(loaded, file: file)
        let fabric = Fabric(semantics)
        let e = loaded.enumeration
        if format == .topoM {
            guard provider == nil, client == nil else { throw ValidationError("--format topo-m prints the whole matrix; leave out --provider and --client") }
            print(TopoMatrix.text(fabric), terminator: "")
            return
        }
        if provider != nil || client != nil {
            guard let provider, let client else { throw ValidationError("give both --provider and --client") }
            guard let p = e.lookup(provider) else { throw ValidationError("no device '\(provider)' in \(file)\(e.didYouMean(provider))") }
            guard let c = e.lookup(client) else { throw ValidationError("no device '\(client)' in \(file)\(e.didYouMean(client))") }
            let r = semantics.p2pdma(provider: p, client: c, verbose: true)
            let path = fabric.pathClass(p, c)
            switch format {
            case .text, .topoM:
                print("provider \(e.functions[p].name) (\(e.functions[p].bdf)) -> client \(e.functions[c].name) (\(e.functions[c].bdf))")
                print("map type: \(r.mapType.kernelName)")
                print("distance: \(r.kernelDistance)\(r.mapType == .notSupported ? " (calc_map_type_and_dist: \(r.distance))" : "")")
                print("path: \(path.rawValue)")
                let link = fabric.topoMatrixClass(p, c, gpuFabric: GPUFabric(loaded.topology))
                if link != .pcie(path) { print("gpu link: \(link) (nvidia-smi topo -m prints this; p2pdma uses the PCIe path)") }
                for w in r.warnings { print(w) }
            case .json:
                print(JSON.object([("provider", .string(e.functions[p].bdf.description)), ("client", .string(e.functions[c].bdf.description)),
                                   ("map_type", .string(r.mapType.kernelName)), ("distance", .int(Int64(r.kernelDistance))),
                                   ("path", .string(path.rawValue)), ("warnings", .array(r.warnings.map { .string($0) }))]).serialized())
            }
            return
        }
        let endpoints = e.functions.indices.filter { i in
            e.functions[i].kind == .endpoint && e.functions[i].device.map { loaded.topology.devices[$0].endpoint?.endpointClass != .hostBridge } ?? true
        }
        let matrix = semantics.distanceMatrix(providers: endpoints, clients: endpoints)
        let gpuFabric = GPUFabric(loaded.topology)
        switch format {
        case .text, .topoM:
            print(P2PTable.text(matrix, fabric: fabric), terminator: "")
        case .json:
            var rows: [JSON] = []
            for (pi, p) in endpoints.enumerated() {
                for (ci, c) in endpoints.enumerated() {
                    let cell = matrix[provider: pi, client: ci]
                    rows.append(.object([("provider", .string(e.functions[p].name)), ("client", .string(e.functions[c].name)),
                                         ("map_type", .string(cell.mapType.kernelName)),
                                         ("distance", .int(Int64(cell.mapType == .notSupported ? -1 : cell.distance))),
                                         ("path", .string(fabric.pathClass(p, c).rawValue))]
                                        + gpuLinkField(p, c)))
                }
            }
            print(JSON.array(rows).serialized())
        }
        func gpuLinkField(_ p: Int, _ c: Int) -> [(String, JSON)] {
            let cls = fabric.topoMatrixClass(p, c, gpuFabric: gpuFabric)
            if case .pcie = cls { return [] }
            return [("gpu_link", .string(cls.description))]
        }
    }
}
