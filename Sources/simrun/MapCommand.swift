// `simrun map SCRIPT... --backend simulated|vfio|iommufd [--compare BACKEND]`: mapping scripts (docs/MAPPING.md).
import ArgumentParser
import Foundation
import Sim

enum MapBackendName: String, ExpressibleByArgument, CaseIterable {
    case simulated, vfio, iommufd
}

struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Run mapping scripts (VFIO type1 / iommufd calls with their expected answers) on the simulated backend or the running kernel; --compare runs them on a second backend and prints every call whose answer differs (exit 1 on a mismatch or a difference, 2 on bad input).")

    @Argument(help: "Mapping script files (mapping/*.xml).") var scripts: [String]
    @Option(help: "Backend: simulated, vfio (the running kernel's VFIO type1) or iommufd (/dev/iommu).") var backend: MapBackendName = .simulated
    @Option(help: "A second backend to run every script on; prints every call whose answers differ.") var compare: MapBackendName?
    @Option(help: "The device: BDF (the scripts' default), or ROLE=BDF for scripts with device=\"ROLE\". Repeatable.") var device: [String] = []
    @Option(help: "Topology of the machine (the simulated backend).") var topology: String?
    @Flag(help: "Simulate the machine as `simrun export qemu` builds it (for comparing with a QEMU guest).") var qemu = false
    @Option(help: "Kernel command line for the simulated boot (replaces the topology's).") var cmdline: String?
    @Option(help: "Devices bound to vfio-pci in the simulated machine, comma-separated BDFs (default: every --device).") var vfioBound: String?
    @Option(help: "IOMMU input address width of the simulated machine (VT-d MGAW; QEMU 7.2's intel-iommu: 39).") var addressWidth: Int = 48
    @Flag(help: "vfio backend, as root: write each script's dma-entry-limit (or the default 65535) into /sys/module/vfio_iommu_type1/parameters/dma_entry_limit before it runs, and put the old value back at the end.") var setDMAEntryLimit = false
    @Option(help: .hidden) var injectFault: String?
    @Option(help: "Root of /sys and /dev for the real backends (tests).") var root: String = ""
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() throws {
        var roles: [String: BDF] = [:]
        for d in device {
            let parts = d.split(separator: "=", maxSplits: 1).map(String.init)
            let (role, text) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            guard let bdf = BDF(text) else { throw ValidationError("--device \(d): '\(text)' is not a BDF (0000:01:00.0)") }
            roles[role] = bdf
        }
        var fault: VFIOContainer.Fault?
        if let injectFault {
            guard let f = VFIOContainer.Fault(rawValue: injectFault) else {
                throw ValidationError("--inject-fault: one of \(VFIOContainer.Fault.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            fault = f
        }
        guard (12...64).contains(addressWidth) else { throw ValidationError("--address-width must be between 12 and 64") }
        var loaded: LoadedTopology?
        if backend == .simulated || compare == .simulated {
            guard let topology else { throw ValidationError("the simulated backend needs --topology") }
            var l = try loadTopology(topology)
            if qemu {
                switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology(topology: try QEMUExport.machine(l).guestTopology) }) {
                case .success(let g): l = g
                case .failure(let e):
                    report(e.diagnostics)
                    throw ExitCode(2)
                }
            }
            loaded = l
        }
        var parsed: [MappingScript] = []
        var bad = false
        for path in scripts {
            switch Result(catching: { () throws(DiagnosticError) in try MappingScript.read(path: path) }) {
            case .success(let s): parsed.append(s)
            case .failure(let e):
                report(e.diagnostics)
                bad = true
            }
        }
        if bad { throw ExitCode(2) }

        for name in [backend] + (compare.map { [$0] } ?? []) {
            let reason = name == .vfio ? VFIOBackend.unavailableReason(root: root) : name == .iommufd ? IOMMUFDBackend.unavailableReason(root: root) : nil
            if let reason {
                printError("error: --backend \(name.rawValue): \(reason)")
                throw ExitCode(2)
            }
        }
        let limitPath = "\(root)/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
        let oldLimit = setDMAEntryLimit ? VFIOBackend(root: root).dmaEntryLimit() : nil
        defer { if let oldLimit { try? String(oldLimit).write(toFile: limitPath, atomically: false, encoding: .utf8) } }
        if setDMAEntryLimit, backend != .vfio && compare != .vfio { throw ValidationError("--set-dma-entry-limit is for the vfio backend") }
        if setDMAEntryLimit, oldLimit == nil {
            printError("error: \(limitPath) does not exist (is vfio_iommu_type1 loaded?)")
            throw ExitCode(2)
        }
        var failed = false
        var matched = 0, total = 0
        var jsonScripts: [JSON] = []
        let text = format == .text
        func say(_ line: String) { if text { print(line) } }
        for script in parsed {
            guard let bdf = roles[script.deviceRole ?? ""] else {
                printError("\(script.file): error: the script runs on --device \(script.deviceRole.map { "\($0)=BDF" } ?? "BDF"), which was not given")
                throw ExitCode(2)
            }
            let first = try runScript(script, on: backend, device: bdf, roles: roles, loaded: loaded, fault: compare == nil ? fault : nil)
            say("\(script.file): \(script.name) on \(first.backend), device \(bdf)")
            var second: MappingRun?
            if let compare { second = try runScript(script, on: compare, device: bdf, roles: roles, loaded: loaded, fault: fault) }
            for (i, r) in first.results.enumerated() {
                // Padded, never cut: an answer's fields (IOVA ranges) are printed whole.
                func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
                var line = pad("  \(r.call.line)", 7) + pad(r.call.text, 62) + " " + pad(r.answer.description, 16)
                    + " expected " + pad(r.call.expected.description, 14)
                    + (r.matches ? " match" : " MISMATCH")
                if let s = second?.results[i] {
                    line += s.answer == r.answer ? "  \(second!.backend) same" : "  \(second!.backend) DIFFERS: \(s.answer)"
                    if !s.matches { failed = true }
                }
                say(line)
                if !r.matches, let reason = r.reason { say("         \(first.backend): \(reason)") }
                if let s = second?.results[i], s.answer != r.answer, let reason = s.reason { say("         \(second!.backend): \(reason)") }
            }
            total += first.results.count
            matched += first.results.count - first.mismatches.count
            if !first.mismatches.isEmpty { failed = true }
            var summary = "  \(first.results.count - first.mismatches.count) of \(first.results.count) calls answered as expected on \(first.backend)"
            if let second {
                let diffs = MappingScriptRunner.differences(first, second)
                summary += "; \(diffs.count) answered differently on \(second.backend)"
                if !diffs.isEmpty { failed = true }
                for d in diffs {
                    say("  differs: \(script.file):\(d.a.call.line): \(d.a.call.text): \(first.backend) \(d.a.answer), \(second.backend) \(d.b.answer)")
                }
            }
            say(summary)
            jsonScripts.append(Self.json(first, second))
        }
        let last = "map: \(matched) of \(total) calls answered as expected on \(backend.rawValue)\(compare.map { " (compared with \($0.rawValue))" } ?? "")"
        say(last)
        if !text {
            print(JSON.object([("scripts", .array(jsonScripts)), ("calls", .int(Int64(total))), ("matched", .int(Int64(matched))),
                               ("ok", .bool(!failed))]).serialized())
        }
        if failed { throw ExitCode(1) }
    }

    /// A script's run (and the compared run) as JSON: every call with its answer, expectation and verdicts.
    static func json(_ first: MappingRun, _ second: MappingRun?) -> JSON {
        func answer(_ r: MappingCallResult) -> [(String, JSON)] {
            [("answer", .string(r.answer.description)), ("matches", .bool(r.matches)), ("reason", r.reason.map(JSON.string) ?? .null)]
        }
        let calls: [JSON] = first.results.enumerated().map { i, r in
            var fields: [(String, JSON)] = [("line", .int(Int64(r.call.line))), ("call", .string(r.call.text)),
                                            ("expected", .string(r.call.expected.description)), ("what", r.call.what.map(JSON.string) ?? .null)]
            fields += answer(r)
            if let s = second?.results[i] {
                fields.append(("compared", .object([("backend", .string(second!.backend)), ("same", .bool(s.answer == r.answer))] + answer(s))))
            }
            return .object(fields)
        }
        return .object([("file", .string(first.script.file)), ("name", .string(first.script.name)), ("backend", .string(first.backend)),
                         ("device", .string(first.device.description)), ("compared_with", second.map { .string($0.backend) } ?? .null),
                         ("calls", .array(calls))])
    }

    func runScript(_ script: MappingScript, on name: MapBackendName, device: BDF, roles: [String: BDF], loaded: LoadedTopology?,
                   fault: VFIOContainer.Fault?) throws -> MappingRun {
        func finish(_ r: Result<MappingRun, MappingError>) throws -> MappingRun {
            switch r {
            case .success(let run): return run
            case .failure(let e):
                printError("\(script.file): error: \(e.function): \(e.errno) (\(e.reason))")
                throw ExitCode(2)
            }
        }
        switch name {
        case .simulated:
            var options = SemanticsOptions()
            if let cmdline { options.kernel = KernelConfiguration(commandLine: cmdline, version: loaded!.topology.kernel.version) }
            var b = SimulatedBackend(loaded!, options: options)
            var bound = Set(roles.values)
            if let vfioBound {
                bound = []
                for t in vfioBound.split(separator: ",") {
                    guard let bdf = BDF(t) else { throw ValidationError("--vfio-bound: '\(t)' is not a BDF") }
                    bound.insert(bdf)
                }
            }
            for bdf in bound {
                guard let f = b.function(at: bdf) else {
                    printError("\(topology ?? ""): error: no device \(bdf) in the simulated machine\(qemu ? " (as QEMU builds it)" : "")")
                    throw ExitCode(2)
                }
                b.vfio.boundToVFIO.insert(f)
            }
            b.vfio.dmaEntryLimit = script.dmaEntryLimit ?? 65535
            b.vfio.iovaWidth = addressWidth
            b.vfio.fault = fault
            return try finish(Result { () throws(MappingError) in try MappingScriptRunner.run(script, on: &b, device: device) })
        case .vfio:
            var b = VFIOBackend(root: root)
            let needed = script.dmaEntryLimit ?? 65535
            if setDMAEntryLimit {
                do {
                    try String(needed).write(toFile: "\(root)/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", atomically: false, encoding: .utf8)
                } catch {
                    printError("\(script.file): error: cannot set dma_entry_limit=\(needed): \(error.localizedDescription) (root is needed)")
                    throw ExitCode(2)
                }
            }
            if script.api == .vfioType1, let have = b.dmaEntryLimit(), have != needed {
                printError("\(script.file): error: the script needs vfio_iommu_type1 dma_entry_limit=\(needed), the kernel has \(have) (as root: echo \(needed) > /sys/module/vfio_iommu_type1/parameters/dma_entry_limit, or simrun map --set-dma-entry-limit)")
                throw ExitCode(2)
            }
            return try finish(Result { () throws(MappingError) in try MappingScriptRunner.run(script, on: &b, device: device) })
        case .iommufd:
            var b = IOMMUFDBackend(root: root)
            return try finish(Result { () throws(MappingError) in try MappingScriptRunner.run(script, on: &b, device: device) })
        }
    }
}
