// What a Linux guest booted by the kernel oracle reported about its PCI devices (scripts/oracle/init.sh).

/// The guest's report, parsed: per PCI function its IDs, class, IOMMU group, ACS registers and p2pmem, plus the
/// kernel release, command line, CPU and the kernel's log lines about ACS, IOMMU groups and p2pdma.
///
/// The report is line based, between `ORACLE-BEGIN 1` and `ORACLE-END` (anything around it, such as console
/// noise, is skipped; a trailing `\r` from the serial line is dropped):
/// ```
/// release 6.1.0-56-amd64
/// cmdline console=ttyS0 intel_iommu=on
/// cpu vendor=GenuineIntel family=6 model=85
/// module nvme ok
/// device 0000:00:02.0 id=1b36:000c class=0x060400 p2pmem=none
/// acs 0000:00:02.0 0x148:0x005f:0x001d
/// group 2 0000:00:02.0
/// driver pcieport 0000:00:02.0
/// uptime 3.21
/// log pci 0000:00:02.0: Adding to iommu group 2
/// ```
/// then optionally the sysfs archive, base64, between `SYSFS-BEGIN` and `SYSFS-END`.
public struct GuestReport: Sendable, Hashable {
    /// The ACS extended capability as the guest's config space holds it.
    public struct ACSRegisters: Sendable, Hashable {
        /// Offset of the capability in config space.
        public var offset: Int
        /// ACS Capability register (capability + 4).
        public var capability: UInt16
        /// ACS Control register (capability + 6).
        public var control: UInt16
        public init(offset: Int, capability: UInt16, control: UInt16) {
            self.offset = offset
            self.capability = capability
            self.control = control
        }
    }

    /// `/sys/bus/pci/devices/<bdf>/p2pmem`.
    public struct P2PMem: Sendable, Hashable {
        public var size: UInt64
        public var isPublished: Bool
    }

    /// A kernel module the guest's init loaded.
    public struct Module: Sendable, Hashable {
        public var name: String
        /// `insmod` succeeded.
        public var isLoaded: Bool
    }

    public struct Device: Sendable, Hashable {
        public var bdf: BDF
        public var id: PCIID
        /// `subsystem_vendor:subsystem_device` (0000:0000 when the function has none); nil in reports written
        /// before the guest printed it.
        public var subsystemID: PCIID? = nil
        public var classCode: UInt32
        /// IOMMU group number; nil when the device has none.
        public var group: Int?
        /// nil: no ACS capability.
        public var acs: ACSRegisters?
        public var p2pmem: P2PMem?
        public var driver: String?
    }

    public var formatVersion: Int
    /// `uname -r`.
    public var release: String
    /// `/proc/cmdline`.
    public var commandLine: String
    public var cpuVendor: String
    public var cpuFamily: Int
    public var cpuModel: Int?
    /// Modules the init loaded, with whether `insmod` succeeded.
    public var modules: [Module]
    /// Sorted by BDF.
    public var devices: [Device]
    /// The kernel's lines about ACS, IOMMU groups, DMAR and p2pdma, without timestamps.
    public var kernelLog: [String]
    /// Seconds from boot to the report.
    public var uptime: Double?
    /// The base64 text of the sysfs archive (a gzip'ed tar), when the guest sent one.
    public var sysfsArchiveBase64: String?

    /// The device at a BDF.
    public func device(at bdf: BDF) -> Device? { devices.first { $0.bdf == bdf } }

    /// Which of the simulator's kernel versions this kernel is: its release (`6.1.0-56-amd64` is 6.1,
    /// `6.12.9` is 6.12); mainline for a release the version table does not know.
    public var kernelVersion: KernelVersion { KernelVersion(parsing: release) ?? .mainline }

    /// The x86 vendor as the simulator names it.
    public var cpuVendorKind: CPUVendor {
        switch cpuVendor {
        case "GenuineIntel": .intel
        case "AuthenticAMD", "HygonGenuine": .amd
        case "CentaurHauls", "  Shanghai  ": .zhaoxin
        default: .other
        }
    }

    /// The command line without the arguments the harness adds for itself (`console=`, `panic=`, `loglevel=`,
    /// `quiet`, `rdinit=`), which is what the simulator is told.
    public var simulatedCommandLine: String {
        commandLine.split(separator: " ").filter { arg in
            !["console=", "panic=", "loglevel=", "rdinit=", "earlyprintk="].contains { arg.hasPrefix($0) } && arg != "quiet"
        }.joined(separator: " ")
    }

    // MARK: - Parsing

    /// Parses a guest's output; errors name the file and line.
    public static func parse(_ text: String, file: String) throws(DiagnosticError) -> GuestReport {
        var bag = DiagnosticBag(file: file)
        var report = GuestReport(formatVersion: 0, release: "", commandLine: "", cpuVendor: "", cpuFamily: 0, cpuModel: nil,
                                 modules: [], devices: [], kernelLog: [], uptime: nil, sysfsArchiveBase64: nil)
        enum Section { case before, report, afterReport, sysfs, done }
        var section = Section.before
        var devices: [BDF: Device] = [:]
        var deviceLines: [BDF: Int] = [:]
        var acs: [(BDF, ACSRegisters?, Int)] = []
        var groups: [(BDF, Int, Int)] = []
        var drivers: [(BDF, String, Int)] = []
        var base64: [Substring] = []
        var lineNumber = 0
        // "\r\n" is one Character in Swift: split on both, since serial lines may carry either.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            switch section {
            case .before:
                if line.hasPrefix("ORACLE-BEGIN") {
                    let v = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
                    guard v == 1 else {
                        bag.error(lineNumber, "guest report format \(v.map(String.init) ?? "?") is not supported (this simrun reads format 1)")
                        try bag.throwIfErrors()
                        return report
                    }
                    report.formatVersion = 1
                    section = .report
                }
            case .report:
                if line == "ORACLE-END" {
                    section = .afterReport
                    continue
                }
                let (key, rest) = split(line)
                switch key {
                case "release": report.release = String(rest)
                case "cmdline": report.commandLine = String(rest)
                case "cpu":
                    let fields = keyValues(rest)
                    report.cpuVendor = fields["vendor"].map(String.init) ?? ""
                    report.cpuFamily = fields["family"].flatMap { Int($0) } ?? 0
                    report.cpuModel = fields["model"].flatMap { Int($0) }
                case "module":
                    let parts = rest.split(separator: " ")
                    if parts.count == 2 { report.modules.append(Module(name: String(parts[0]), isLoaded: parts[1] == "ok")) } else { bag.error(lineNumber, "malformed module line: \(line)") }
                case "device":
                    guard let device = parseDevice(rest) else {
                        bag.error(lineNumber, "malformed device line: \(line)")
                        continue
                    }
                    if devices[device.bdf] != nil { bag.error(lineNumber, "device \(device.bdf) reported twice") }
                    devices[device.bdf] = device
                    deviceLines[device.bdf] = lineNumber
                case "acs":
                    let parts = rest.split(separator: " ")
                    guard parts.count == 2, let bdf = BDF(parts[0]) else {
                        bag.error(lineNumber, "malformed acs line: \(line)")
                        continue
                    }
                    if parts[1] == "none" {
                        acs.append((bdf, nil, lineNumber))
                    } else if let regs = parseACS(parts[1]) {
                        acs.append((bdf, regs, lineNumber))
                    } else {
                        bag.error(lineNumber, "malformed acs registers '\(parts[1])' (want offset:capability:control, e.g. 0x148:0x005f:0x001d)")
                    }
                case "group":
                    let parts = rest.split(separator: " ")
                    guard parts.count == 2, let g = Int(parts[0]), let bdf = BDF(parts[1]) else {
                        bag.error(lineNumber, "malformed group line: \(line)")
                        continue
                    }
                    groups.append((bdf, g, lineNumber))
                case "driver":
                    let parts = rest.split(separator: " ")
                    guard parts.count == 2, let bdf = BDF(parts[1]) else {
                        bag.error(lineNumber, "malformed driver line: \(line)")
                        continue
                    }
                    drivers.append((bdf, String(parts[0]), lineNumber))
                case "uptime": report.uptime = Double(rest)
                case "log": report.kernelLog.append(String(rest))
                case "":
                    break
                default:
                    // Unknown keys are skipped: a newer init may report more.
                    break
                }
            case .afterReport:
                if line == "SYSFS-BEGIN" { section = .sysfs }
            case .sysfs:
                if line == "SYSFS-END" {
                    section = .done
                    report.sysfsArchiveBase64 = base64.joined()
                } else {
                    base64.append(line)
                }
            case .done:
                break
            }
        }
        switch section {
        case .before:
            bag.error(nil, "no ORACLE-BEGIN line: this is not the output of the oracle's guest (or the guest never reached its init; see its console log)")
        case .report:
            bag.error(lineNumber, "the report ends without ORACLE-END: the guest stopped early (see its console log)")
        case .sysfs:
            bag.error(lineNumber, "the sysfs archive ends without SYSFS-END: the guest stopped while sending it")
        case .afterReport, .done:
            break
        }
        for (bdf, regs, line) in acs {
            if devices[bdf] == nil { bag.error(line, "acs line for \(bdf), which no device line lists") } else { devices[bdf]!.acs = regs }
        }
        for (bdf, g, line) in groups {
            if devices[bdf] == nil { bag.error(line, "group line for \(bdf), which no device line lists") } else { devices[bdf]!.group = g }
        }
        for (bdf, name, line) in drivers {
            if devices[bdf] == nil { bag.error(line, "driver line for \(bdf), which no device line lists") } else { devices[bdf]!.driver = name }
        }
        if report.formatVersion == 1, report.release.isEmpty { bag.error(nil, "the report has no release line") }
        try bag.throwIfErrors()
        report.devices = devices.values.sorted { $0.bdf < $1.bdf }
        return report
    }

    static func split(_ line: Substring) -> (Substring, Substring) {
        guard let space = line.firstIndex(of: " ") else { return (line, "") }
        return (line[..<space], line[line.index(after: space)...])
    }

    /// `a=1 b=2` -> [a: 1, b: 2].
    static func keyValues(_ text: Substring) -> [Substring: Substring] {
        var out: [Substring: Substring] = [:]
        for field in text.split(separator: " ") {
            guard let eq = field.firstIndex(of: "=") else { continue }
            out[field[..<eq]] = field[field.index(after: eq)...]
        }
        return out
    }

    /// `0000:00:02.0 id=1b36:000c subsys=1b36:0000 class=0x060400 p2pmem=none` (`subsys=` is optional).
    static func parseDevice(_ rest: Substring) -> Device? {
        let (first, others) = split(rest)
        guard let bdf = BDF(first) else { return nil }
        let fields = keyValues(others)
        guard let id = fields["id"].flatMap({ PCIID($0) }), let cls = fields["class"].flatMap({ parseInteger($0) }),
              cls <= 0xff_ffff else { return nil }
        var p2pmem: P2PMem?
        if let p = fields["p2pmem"], p != "none" {
            var size: UInt64?
            var published: Bool?
            for part in p.split(separator: ",") {
                if part.hasPrefix("size=") { size = parseInteger(part.dropFirst(5)) }
                if part.hasPrefix("published=") { published = part.dropFirst(10) == "1" }
            }
            guard let size, let published else { return nil }
            p2pmem = P2PMem(size: size, isPublished: published)
        }
        var subsystem: PCIID?
        if let text = fields["subsys"] {
            guard let sub = PCIID(text) else { return nil }
            subsystem = sub
        }
        return Device(bdf: bdf, id: id, subsystemID: subsystem, classCode: UInt32(cls), group: nil, acs: nil, p2pmem: p2pmem, driver: nil)
    }

    /// `0x148:0x005f:0x001d`.
    static func parseACS(_ text: Substring) -> ACSRegisters? {
        let parts = text.split(separator: ":")
        guard parts.count == 3, let o = parseInteger(parts[0]), let c = parseInteger(parts[1]), let k = parseInteger(parts[2]),
              o < 4096, c <= 0xffff, k <= 0xffff else { return nil }
        return ACSRegisters(offset: Int(o), capability: UInt16(c), control: UInt16(k))
    }
}
