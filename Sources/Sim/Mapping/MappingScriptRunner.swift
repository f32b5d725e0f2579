// Runs a mapping script on any backend, call by call, and compares two runs of the same script.

/// One call's answer, and whether it is the one the script expects.
public struct MappingCallResult: Sendable, Hashable {
    public var call: MappingCall
    public var answer: MappingAnswer
    /// The backend's reason (the kernel's errno in words, the simulated rule that refused it).
    public var reason: String?
    public var matches: Bool { answer.satisfies(call.expected) }
}

/// A script run on one backend.
public struct MappingRun: Sendable, Hashable {
    public var script: MappingScript
    public var backend: String
    public var device: BDF
    public var results: [MappingCallResult]
    public var mismatches: [MappingCallResult] { results.filter { !$0.matches } }
}

public enum MappingScriptRunner {
    /// Runs every call in order on `backend` (fresh: no container, group or memory yet). A failed call does not stop
    /// the script: the next calls get what the backend answers in that state, as a process would.
    public static func run<B: MappingBackend>(_ script: MappingScript, on backend: inout B, device: BDF) throws(MappingError) -> MappingRun {
        let buffer = try backend.userMemory(size: script.bufferSize)
        var ioas: UInt32 = 0
        var results: [MappingCallResult] = []
        func vaddr(_ a: ScriptAddress) -> UInt64 {
            switch a {
            case .buffer(let offset): buffer &+ offset
            case .absolute(let v): v
            }
        }
        for call in script.calls {
            var answer = MappingAnswer.ok
            var reason: String?
            do throws(MappingError) {
                switch call.operation {
                case .openGroup:
                    let s = try backend.vfioOpenGroup(device: device)
                    answer.fields = [.init("viable", s.isViable ? "yes" : "no"), .init("container-set", s.isContainerSet ? "yes" : "no")]
                case .setContainer: try backend.vfioGroupSetContainer()
                case .setIOMMU(let type): try backend.vfioSetIOMMU(type)
                case .getInfo:
                    let info = try backend.vfioIOMMUGetInfo()
                    answer.fields = [.init("iova-ranges", info.iovaRanges.map(\.description).joined(separator: ","))]
                    if let d = info.dmaAvailable { answer.fields.append(.init("dma-avail", String(d))) }
                case .map(var m, let a):
                    m.vaddr = vaddr(a)
                    try backend.vfioMapDMA(m)
                case .unmap(let u):
                    answer.fields = [.init("unmapped", "0x" + hex(try backend.vfioUnmapDMA(u), 1))]
                case .fill(let iova):
                    let available = try backend.vfioIOMMUGetInfo().dmaAvailable ?? 0
                    var done: UInt32 = 0
                    defer { answer.fields = [.init("maps", String(done))] }
                    while done < available {
                        try backend.vfioMapDMA(VFIODMAMap(flags: [.read, .write], vaddr: buffer, iova: iova &+ UInt64(done) * 4096, size: 4096))
                        done += 1
                    }
                case .ioasAlloc(let attach):
                    ioas = try backend.iommufdIOASAlloc(device: attach ? device : nil)
                case .ioasIOVARanges:
                    let r = try backend.iommufdIOVARanges(ioas: ioas)
                    answer.fields = [.init("iova-ranges", r.ranges.map(\.description).joined(separator: ",")), .init("alignment", "0x" + hex(r.alignment, 1))]
                case .ioasAllowIOVAs(let r): try backend.iommufdAllowIOVAs(ioas: ioas, r)
                case .ioasMap(let f, let a, let length, let iova):
                    let at = try backend.iommufdMap(ioas: ioas, flags: f, userVA: vaddr(a), length: length, iova: iova)
                    answer.fields = [.init("iova", "0x" + hex(at, 1))]
                case .ioasUnmap(let iova, let length):
                    answer.fields = [.init("unmapped", "0x" + hex(try backend.iommufdUnmap(ioas: ioas, iova: iova, length: length), 1))]
                }
            } catch {
                answer.errno = error.errno
                // fill reports how many maps it made before the error.
                if case .fill = call.operation {} else { answer.fields = [] }
                reason = "\(error.function): \(error.reason)"
            }
            results.append(MappingCallResult(call: call, answer: answer, reason: reason))
        }
        return MappingRun(script: script, backend: backend.name, device: device, results: results)
    }

    /// The calls two runs of one script answered differently (answers compared as printed, every field).
    public static func differences(_ a: MappingRun, _ b: MappingRun) -> [(a: MappingCallResult, b: MappingCallResult)] {
        zip(a.results, b.results).filter { $0.answer != $1.answer }.map { ($0, $1) }
    }
}
