// The kernel oracle's verdict: what the simulator predicts for a machine against what a booted Linux reported.

/// What to compare.
public struct OracleComparisonOptions: Sendable, Hashable {
    /// How IOMMU groups are compared.
    public enum GroupCheck: String, Sendable, Hashable, CaseIterable {
        /// The group number of every device, as /sys/kernel/iommu_groups numbers them (probe order).
        case numbers
        /// Only which devices share a group.
        case partition
    }

    public var groups: GroupCheck
    /// Compare `p2pmem` (only meaningful when the guest kernel has CONFIG_PCI_P2PDMA; Debian's 6.1 has not).
    public var p2pmem: Bool
    /// Compare the kernel's `pci <bdf>: ...` log lines about ACS and IOMMU groups with the simulated boot log.
    public var kernelLog: Bool
    /// The command line the simulator boots with; nil: the guest's, less the harness's console arguments.
    public var commandLine: String?
    /// The kernel rules to follow; nil: from the guest's release (6.1.* follows Linux 6.1).
    public var kernelVersion: KernelVersion?

    public init(groups: GroupCheck = .numbers, p2pmem: Bool = false, kernelLog: Bool = true, commandLine: String? = nil,
                kernelVersion: KernelVersion? = nil) {
        self.groups = groups
        self.p2pmem = p2pmem
        self.kernelLog = kernelLog
        self.commandLine = commandLine
        self.kernelVersion = kernelVersion
    }
}

/// One difference between the simulator and the kernel, with both sides.
public struct OracleMismatch: Sendable, Hashable, CustomStringConvertible {
    public enum Aspect: String, Sendable, Hashable, CaseIterable {
        /// A function present on one side only, or with other IDs or class (the export is wrong).
        case device
        case group
        /// ACS capability or control after boot.
        case acs
        case p2pmem
        /// The CPU the kernel saw (p2pdma's `cpu_supports_p2pdma` depends on it).
        case cpu
        /// A kernel log line about ACS or IOMMU groups on one side only.
        case log
        /// `simrun import sysfs` of the guest's tree differs from the booted machine (presence, IDs, kind,
        /// parent, ACS capability, IOMMU group).
        case imported
    }

    public var aspect: Aspect
    public var bdf: BDF?
    /// The function's name in the topology.
    public var name: String?
    public var simulator: String
    public var kernel: String

    public init(aspect: Aspect, bdf: BDF?, name: String?, simulator: String, kernel: String) {
        self.aspect = aspect
        self.bdf = bdf
        self.name = name
        self.simulator = simulator
        self.kernel = kernel
    }

    /// `acs 0000:00:02.0 (rc0.rp0): simulator ctrl 0x0011, kernel ctrl 0x001d`.
    public var description: String {
        var s = aspect.rawValue
        if let bdf { s += " \(bdf)" }
        if let name { s += " (\(name))" }
        return s + ": simulator " + simulator + ", kernel " + kernel
    }
}

/// The simulator's prediction for a machine compared, device by device, with a guest's report.
///
/// The simulator side is `Semantics` on the machine as the guest sees it (`QEMUMachine.guestTopology`), booted
/// with the guest's command line and kernel version: the same implementation `simrun groups` and
/// `simrun show` answer from. Both sides are kept for every device, so a mismatch prints what each said.
public struct OracleComparison: Sendable {
    /// One PCI function with both sides' answers; nil where a side has no such function or value.
    public struct Row: Sendable, Hashable {
        public var bdf: BDF
        public var name: String?
        public var simulatorID: PCIID?
        public var kernelID: PCIID?
        public var simulatorClass: UInt32?
        public var kernelClass: UInt32?
        /// Subsystem IDs (0000:0000 for none); nil where a side does not say (the host bridge's is not in the
        /// topology; older guest reports have none).
        public var simulatorSubsystem: PCIID?
        public var kernelSubsystem: PCIID?
        public var simulatorGroup: Int?
        public var kernelGroup: Int?
        /// ACS capability and control word after boot (nil: no ACS capability).
        public var simulatorACS: (capability: UInt16, control: UInt16)?
        public var kernelACS: (capability: UInt16, control: UInt16)?
        public var simulatorP2PMem: Bool?
        public var kernelP2PMem: Bool?
        public var inSimulator: Bool
        public var inKernel: Bool

        public static func == (a: Row, b: Row) -> Bool {
            a.bdf == b.bdf && a.name == b.name && a.simulatorID == b.simulatorID && a.kernelID == b.kernelID
                && a.simulatorGroup == b.simulatorGroup && a.kernelGroup == b.kernelGroup
                && a.simulatorACS.map { [$0.capability, $0.control] } == b.simulatorACS.map { [$0.capability, $0.control] }
                && a.kernelACS.map { [$0.capability, $0.control] } == b.kernelACS.map { [$0.capability, $0.control] }
        }
        public func hash(into h: inout Hasher) { h.combine(bdf) }
    }

    public let kernel: KernelConfiguration
    public let release: String
    public let rows: [Row]
    public let mismatches: [OracleMismatch]
    public var matches: Bool { mismatches.isEmpty }

    public init(expected: LoadedTopology, guest: GuestReport, options: OracleComparisonOptions = OracleComparisonOptions()) {
        let kernel = KernelConfiguration(commandLine: options.commandLine ?? guest.simulatedCommandLine,
                                         version: options.kernelVersion ?? guest.kernelVersion)
        self.kernel = kernel
        release = guest.release
        let semantics = Semantics(expected, options: SemanticsOptions(kernel: kernel))
        let t = expected.topology
        let e = expected.enumeration

        // The simulator's functions: the enumeration plus host bridges named only by ID.
        var rowsByBDF: [BDF: Row] = [:]
        func emptyRow(_ bdf: BDF) -> Row {
            Row(bdf: bdf, inSimulator: false, inKernel: false)
        }
        var groupOf: [BDF: Int] = [:]
        var members: [Int: Set<BDF>] = [:]
        for g in semantics.iommuGroups() {
            for m in g.members {
                groupOf[m.bdf] = g.number
                members[g.number, default: []].insert(m.bdf)
            }
        }
        for (f, fn) in e.functions.enumerated() {
            var row = emptyRow(fn.bdf)
            row.inSimulator = true
            row.name = fn.name
            row.simulatorID = fn.id
            if let d = fn.device {
                let device = t.devices[d]
                row.simulatorClass = device.effectiveClassCode
                row.simulatorSubsystem = device.subsystemID ?? PCIID(vendor: 0, device: 0)
                if let acs = device.acs, let word = semantics.acsControlWord[f] {
                    row.simulatorACS = (acs.capability.rawValue, word)
                }
                row.simulatorP2PMem = device.endpoint.map { !$0.p2pmem.isEmpty } ?? false
            }
            row.simulatorGroup = groupOf[fn.bdf]
            rowsByBDF[fn.bdf] = row
        }
        for (r, rc) in t.rootComplexes.enumerated() {
            guard let id = rc.hostBridgeID, r < e.rootComplexes.count else { continue }
            let state = e.rootComplexes[r]
            let bdf = BDF(segment: state.segment, bus: state.busRange.lowerBound, device: 0, function: 0)
            var row = emptyRow(bdf)
            row.inSimulator = true
            row.simulatorID = id
            row.simulatorClass = 0x06_00_00
            row.simulatorP2PMem = false
            row.simulatorGroup = groupOf[bdf]
            rowsByBDF[bdf] = row
        }
        var kernelMembers: [Int: Set<BDF>] = [:]
        for d in guest.devices {
            var row = rowsByBDF[d.bdf] ?? emptyRow(d.bdf)
            row.inKernel = true
            row.kernelID = d.id
            row.kernelClass = d.classCode
            row.kernelSubsystem = d.subsystemID
            row.kernelGroup = d.group
            row.kernelACS = d.acs.map { ($0.capability, $0.control) }
            row.kernelP2PMem = d.p2pmem != nil
            rowsByBDF[d.bdf] = row
            if let g = d.group { kernelMembers[g, default: []].insert(d.bdf) }
        }
        let rows = rowsByBDF.values.sorted { $0.bdf < $1.bdf }
        self.rows = rows

        var out: [OracleMismatch] = []
        func mismatch(_ aspect: OracleMismatch.Aspect, _ row: Row, _ sim: String, _ ker: String) {
            out.append(OracleMismatch(aspect: aspect, bdf: row.bdf, name: row.name, simulator: sim, kernel: ker))
        }
        for row in rows {
            guard row.inSimulator, row.inKernel else {
                mismatch(.device, row, row.inSimulator ? "has \(row.simulatorID.map(\.description) ?? "it")" : "has no such function",
                         row.inKernel ? "has \(row.kernelID.map(\.description) ?? "it")" : "has no such function")
                continue
            }
            if row.simulatorID != row.kernelID || row.simulatorClass != row.kernelClass {
                mismatch(.device, row, "\(row.simulatorID.map(\.description) ?? "?") class \(Self.classText(row.simulatorClass))",
                         "\(row.kernelID.map(\.description) ?? "?") class \(Self.classText(row.kernelClass))")
            }
            if let sim = row.simulatorSubsystem, let ker = row.kernelSubsystem, sim != ker {
                mismatch(.device, row, "subsystem \(sim)", "subsystem \(ker)")
            }
            switch options.groups {
            case .numbers:
                if row.simulatorGroup != row.kernelGroup {
                    mismatch(.group, row, Self.groupText(row.simulatorGroup, members), Self.groupText(row.kernelGroup, kernelMembers))
                }
            case .partition:
                let sim = row.simulatorGroup.flatMap { members[$0] }
                let ker = row.kernelGroup.flatMap { kernelMembers[$0] }
                if sim != ker {
                    mismatch(.group, row, Self.groupText(row.simulatorGroup, members), Self.groupText(row.kernelGroup, kernelMembers))
                }
            }
            let simACS = row.simulatorACS.map { [$0.capability, $0.control] }
            let kerACS = row.kernelACS.map { [$0.capability, $0.control] }
            if simACS != kerACS {
                mismatch(.acs, row, Self.acsText(row.simulatorACS), Self.acsText(row.kernelACS))
            }
            if options.p2pmem, row.simulatorP2PMem != row.kernelP2PMem {
                mismatch(.p2pmem, row, row.simulatorP2PMem == true ? "p2pmem" : "no p2pmem", row.kernelP2PMem == true ? "p2pmem" : "no p2pmem")
            }
        }
        if let socket = t.sockets.min(by: { $0.id < $1.id }),
           socket.cpuVendor != guest.cpuVendorKind || socket.cpuFamily != guest.cpuFamily {
            out.append(OracleMismatch(aspect: .cpu, bdf: nil, name: nil,
                                      simulator: "\(socket.cpuVendor.rawValue) family \(socket.cpuFamily)",
                                      kernel: "\(guest.cpuVendor) family \(guest.cpuFamily)"))
        }
        if options.kernelLog {
            let simulated = semantics.kernelLog.filter(Self.isComparedLogLine)
            let seen = guest.kernelLog.filter(Self.isComparedLogLine)
            var remaining: [String: Int] = [:]
            for line in seen { remaining[line, default: 0] += 1 }
            var missing: [String] = []
            for line in simulated {
                if let n = remaining[line], n > 0 { remaining[line] = n - 1 } else { missing.append(line) }
            }
            let extra = seen.filter { line in
                guard let n = remaining[line], n > 0 else { return false }
                remaining[line] = n - 1
                return true
            }
            for line in missing { out.append(OracleMismatch(aspect: .log, bdf: nil, name: nil, simulator: "logs \"\(line)\"", kernel: "does not")) }
            for line in extra { out.append(OracleMismatch(aspect: .log, bdf: nil, name: nil, simulator: "does not", kernel: "logs \"\(line)\"")) }
        }
        mismatches = out
    }

    /// The kernel log lines both sides are held to: a device's lines about ACS and IOMMU groups
    /// (`pci 0000:00:02.0: disabled ACS redirect`), every line of the PCI command line parser
    /// (`PCI: Can't parse disable_acs_redir parameter: ...`, `PCI: Unknown option `config_acs=...'`,
    /// `PCIe: ATS is disabled`), what the early parameters' walk rejects (`Malformed early option 'iommu'`,
    /// `nodac option ignored.`) and what `intel_iommu=` and `amd_iommu=` print (`DMAR: IOMMU enabled`,
    /// `DMAR: Unknown option - '...'`, `AMD-Vi: amd_iommu=fullflush deprecated; ...`): KernelCommandLine.swift.
    static func isComparedLogLine(_ line: String) -> Bool {
        if line.hasPrefix("pci ") { return line.contains("ACS") || line.contains("iommu group") }
        if line.hasPrefix("PCI: ") { return line.contains("ACS") || line.contains("acs") || line.hasPrefix("PCI: Unknown option `") }
        if line == "PCIe: ATS is disabled" || line.hasPrefix("Malformed early option '") { return true }
        if line.hasSuffix(" option ignored."), ["forcesac", "allowdac", "nodac"].contains(where: { line.hasPrefix($0 + " ") }) { return true }
        if line.hasPrefix("DMAR: ") { return commandLineDMARLines.contains(line) || line.hasPrefix("DMAR: Unknown option - '") }
        if line.hasPrefix("AMD-Vi: ") {
            return line.hasPrefix("AMD-Vi: Unknown option - '") || line.hasPrefix("AMD-Vi: amd_iommu=fullflush deprecated")
                || line.hasPrefix("AMD-Vi: Restricting V1 page-sizes")
        }
        return false
    }

    /// `intel_iommu_setup`'s lines (drivers/iommu/intel/iommu.c, 6.1 and 6.12).
    static let commandLineDMARLines: Set<String> = [
        "DMAR: IOMMU enabled", "DMAR: IOMMU disabled", "DMAR: Disable GFX device mapping",
        "DMAR: Disable integrated GPU device mapping", "DMAR: intel_iommu=forcedac deprecated; use iommu.forcedac instead",
        "DMAR: intel_iommu=strict deprecated; use iommu.strict=1 instead", "DMAR: Disable supported super page",
        "DMAR: Enable scalable mode if hardware supports", "DMAR: Scalable mode is disallowed",
        "DMAR: Intel-IOMMU: not forcing on after tboot. This could expose security risk for tboot",
    ]

    static func classText(_ c: UInt32?) -> String { c.map { "0x" + hex($0, 6) } ?? "?" }

    /// `6 (0000:01:00.0 0000:01:00.1)`, or `none`.
    static func groupText(_ g: Int?, _ members: [Int: Set<BDF>]) -> String {
        guard let g else { return "no group" }
        let m = (members[g] ?? []).sorted().map(\.description).joined(separator: " ")
        return "group \(g) [\(m)]"
    }

    static func acsText(_ acs: (capability: UInt16, control: UInt16)?) -> String {
        guard let acs else { return "no ACS capability" }
        return "cap 0x\(hex(acs.capability, 4)) ctrl 0x\(hex(acs.control, 4))"
    }

    // MARK: - Output

    /// Both sides of every device, then the mismatches.
    public var text: String {
        var out = "kernel \(release) (\(kernel.version == .mainline ? "mainline" : "Linux \(kernel.version)") rules), command line: \(kernel.commandLine.isEmpty ? "(empty)" : kernel.commandLine)\n"
        var table: [[String]] = [["BDF", "name", "id sim/kernel", "group sim/kernel", "ACS ctrl sim/kernel", ""]]
        let bad = Set(mismatches.compactMap(\.bdf))
        for row in rows {
            let ids = row.simulatorID == row.kernelID ? (row.simulatorID?.description ?? "-")
                : "\(row.simulatorID?.description ?? "-")/\(row.kernelID?.description ?? "-")"
            let group = "\(row.inSimulator ? (row.simulatorGroup.map(String.init) ?? "-") : "absent")/\(row.inKernel ? (row.kernelGroup.map(String.init) ?? "-") : "absent")"
            let acs = "\(row.simulatorACS.map { "0x" + hex($0.control, 4) } ?? "-")/\(row.kernelACS.map { "0x" + hex($0.control, 4) } ?? "-")"
            table.append([row.bdf.description, row.name ?? "", ids, group, acs, bad.contains(row.bdf) ? "MISMATCH" : ""])
        }
        let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max() ?? 0 }
        for line in table {
            var s = ""
            for (c, cell) in line.enumerated() {
                s += cell + (c + 1 < line.count ? String(repeating: " ", count: widths[c] - cell.count + 2) : "")
            }
            while s.last == " " { s.removeLast() }
            out += s + "\n"
        }
        if mismatches.isEmpty {
            out += "match: the simulator and the kernel agree on \(rows.count) functions\n"
        } else {
            out += "\(mismatches.count) mismatch\(mismatches.count == 1 ? "" : "es"):\n"
            for m in mismatches { out += "  " + m.description + "\n" }
        }
        return out
    }

    /// The verdict as JSON: kernel, command line, mismatches with both sides.
    public var json: JSON {
        .object([("release", .string(release)), ("command_line", .string(kernel.commandLine)),
                 ("rules", .string(kernel.version.rawValue)), ("functions", .int(Int64(rows.count))),
                 ("match", .bool(matches)),
                 ("mismatches", .array(mismatches.map { m in
                     .object([("aspect", .string(m.aspect.rawValue)), ("bdf", JSON(m.bdf?.description)), ("name", JSON(m.name)),
                              ("simulator", .string(m.simulator)), ("kernel", .string(m.kernel))])
                 }))])
    }
}
