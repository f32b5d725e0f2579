// One sysfs reader: what Linux's /sys (and /proc) say about a machine's PCI functions, host bridges and IOMMUs.
import Foundation

/// A read-only snapshot of a machine's PCI hierarchy as Linux exposes it under `ROOT/sys/bus/pci/devices`.
///
/// This is the one sysfs reader: `SysfsImporter` turns a snapshot into a `Topology`, and a mapping backend on
/// a real machine reads the same values (BDFs, groups, ACS, p2pmem) from it. Reading never fails on a missing
/// or unreadable attribute: the fact is nil (or `ConfigReadout.unreadable`) and `diagnostics` says why.
/// Attribute formats are those of drivers/pci/pci-sysfs.c and drivers/pci/p2pdma.c.
public struct SysfsSnapshot: Sendable, Hashable {
    /// One line of a function's `resource` file (`resource_show`): start, end (inclusive) and IORESOURCE_* flags.
    public struct Resource: Sendable, Hashable {
        public var start: UInt64
        public var end: UInt64
        public var flags: UInt64
        public init(start: UInt64, end: UInt64, flags: UInt64) {
            self.start = start
            self.end = end
            self.flags = flags
        }
        public static let ioFlag: UInt64 = 0x100            // IORESOURCE_IO
        public static let memoryFlag: UInt64 = 0x200        // IORESOURCE_MEM
        public static let prefetchFlag: UInt64 = 0x2000     // IORESOURCE_PREFETCH
        public static let memory64Flag: UInt64 = 0x10_0000  // IORESOURCE_MEM_64
        public static let disabledFlag: UInt64 = 0x1000_0000 // IORESOURCE_DISABLED
        public static let unsetFlag: UInt64 = 0x2000_0000   // IORESOURCE_UNSET

        public var isEmpty: Bool { flags == 0 && start == 0 && end == 0 }
        public var size: UInt64 { isEmpty || end < start ? 0 : end &- start &+ 1 }
        public var isMemory: Bool { flags & Resource.memoryFlag != 0 }
        public var isIO: Bool { flags & Resource.ioFlag != 0 }
        public var isPrefetchable: Bool { flags & Resource.prefetchFlag != 0 }
        public var is64Bit: Bool { flags & Resource.memory64Flag != 0 }
        /// Not given an address by the kernel (unassigned, or a window disabled).
        public var isUnassigned: Bool { flags & (Resource.unsetFlag | Resource.disabledFlag) != 0 || start == 0 }
    }

    /// A link state: `*_link_speed` and `*_link_width`.
    public struct Link: Sendable, Hashable {
        public var speedText: String?
        public var generation: LinkGeneration?
        public var width: Int?
    }

    /// `p2pmem/size`, `p2pmem/available`, `p2pmem/published` (drivers/pci/p2pdma.c).
    public struct P2PMem: Sendable, Hashable {
        public var size: UInt64?
        public var available: UInt64?
        public var isPublished: Bool?
    }

    /// `sriov_totalvfs`, `sriov_numvfs`, `sriov_offset`, `sriov_stride`, `sriov_vf_device` (drivers/pci/iov.c).
    public struct SRIOV: Sendable, Hashable {
        public var totalVFs: Int
        public var numVFs: Int
        public var offset: Int?
        public var stride: Int?
        public var vfDevice: UInt16?
    }

    /// One PCI function.
    public struct Function: Sendable, Hashable {
        public var bdf: BDF
        /// The device directory below the root, e.g. `sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0`.
        public var devicePath: String
        /// The bridge directly above (the previous BDF in the device path); nil on a root bus.
        public var parent: BDF?
        /// The root bus (host bridge `pci<segment>:<bus>`) the function descends from.
        public var rootSegment: UInt16
        public var rootBus: UInt8
        public var id: PCIID?
        public var subsystemID: PCIID?
        public var classCode: UInt32?
        public var revision: UInt8?
        /// Lines of `resource`: BARs 0-5, the ROM, then IOV BARs 7-12 (PFs) or bridge windows (io, mem, pref).
        public var resources: [Resource]
        public var currentLink: Link?
        public var maxLink: Link?
        /// `numa_node`; nil when the file says -1 or is missing.
        public var numaNode: Int?
        /// Number of the IOMMU group (`iommu_group` link); nil without one.
        public var iommuGroup: Int?
        /// The IOMMU unit translating for it (`iommu` link, e.g. `dmar0`).
        public var iommu: String?
        /// The bound driver (`driver` link).
        public var driver: String?
        public var p2pmem: P2PMem?
        public var sriov: SRIOV?
        /// Set for a virtual function: its PF (`physfn` link).
        public var physicalFunction: BDF?
        /// Configuration space as read: 64 bytes as non-root, 256 or 4096 as root; nil when unreadable.
        public var config: PCIConfigSpace?
        /// The kernel exposes `current_link_speed` (it does so for every PCIe function).
        public var hasLinkAttributes: Bool

        public var isVirtualFunction: Bool { physicalFunction != nil }
        /// The PCIe capability, or unreadable when config space could not be read that far.
        public var express: ConfigReadout<PCIExpressCapability> { config?.express ?? .unreadable }
        /// ACS capability and control as firmware and the kernel left them.
        public var acs: ConfigReadout<ACSState> { config?.acs ?? .unreadable }
        /// A function with a PCIe capability; from the link attributes when config space is unreadable.
        public var isPCIe: Bool {
            switch express {
            case .present: true
            case .absent: false
            case .unreadable: hasLinkAttributes
            }
        }
        /// A PCI-to-PCI bridge: type 1 header, else class 0x0604/0x0609.
        public var isBridge: Bool {
            if let h = config?.headerType { return h == 1 }
            return classCode.map { $0 >> 8 == 0x0604 || $0 >> 8 == 0x0609 } ?? false
        }
        /// Index of the first bridge window line (io, then mem, then pref): PCI_BRIDGE_RESOURCES, which is
        /// 13 with CONFIG_PCI_IOV and 7 without; a bridge's file has 4 window lines at the end.
        public var bridgeWindowBase: Int? {
            guard isBridge, resources.count >= 11 else { return nil }
            return resources.count - 4
        }
        public var memoryWindow: Resource? { bridgeWindowBase.flatMap { resources[safe: $0 + 1] }.flatMap { $0.isEmpty ? nil : $0 } }
        public var prefetchableWindow: Resource? { bridgeWindowBase.flatMap { resources[safe: $0 + 2] }.flatMap { $0.isEmpty ? nil : $0 } }
        /// IOV BARs (lines 7-12) of a physical function: each is the VF BAR size times TotalVFs.
        public var iovResources: [Resource] {
            guard !isBridge, resources.count >= 13 else { return [] }
            return Array(resources[7...12])
        }
    }

    /// A root bus: the `pci<segment>:<bus>` directory of a host bridge.
    public struct HostBridge: Sendable, Hashable {
        public var segment: UInt16
        public var bus: UInt8
        public var path: String
    }

    /// An IOMMU unit from `sys/class/iommu`.
    public struct IOMMU: Sendable, Hashable {
        public var name: String
        /// nil when the name is not one PCIeSim models (`dmar*`, `ivhd*`, `smmu*`).
        public var kind: IOMMUKind?
    }

    /// An IOMMU group from `sys/kernel/iommu_groups`.
    public struct IOMMUGroup: Sendable, Hashable {
        public var number: Int
        /// Default domain type: `DMA`, `DMA-FQ`, `identity`, `blocked`, `unmanaged`.
        public var type: String?
        public var devices: [BDF]
    }

    /// What `proc/cpuinfo` says.
    public struct CPUInfo: Sendable, Hashable {
        /// `vendor_id` (x86) such as `GenuineIntel`.
        public var vendorID: String?
        public var vendor: CPUVendor
        public var family: Int?
        public var model: Int?
        /// Distinct `physical id` values (packages).
        public var packages: Int
    }

    public var root: String
    /// Every function, in BDF order (virtual functions included; see `isVirtualFunction`).
    public var functions: [Function]
    public var hostBridges: [HostBridge]
    public var iommus: [IOMMU]
    public var iommuGroups: [IOMMUGroup]
    public var cpu: CPUInfo?
    public var kernelCommandLine: String?
    public var kernelRelease: String?
    /// Problems met while reading (unreadable attributes, functions outside any modeled domain).
    public var diagnostics: [Diagnostic]

    public func function(at bdf: BDF) -> Function? { functions.first { $0.bdf == bdf } }

    /// Reads `ROOT/sys/bus/pci/devices` and the rest; throws only when there is no PCI bus directory at all.
    public static func read(root: String = "/") throws(DiagnosticError) -> SysfsSnapshot {
        var reader = SysfsReader(root: root)
        return try reader.snapshot()
    }
}

/// Reads files below a root directory without following links out of it (issue #19): every path is resolved
/// (`realpath`) and read only when it stays below the root's own real path, so sysfs's links inside the tree
/// (`sys/bus/pci/devices/*`, `iommu_group`, `physfn`) work while a link to `/etc` or `../../..` is refused;
/// only regular files are opened (a FIFO, socket or device node in a copied tree would block or read forever),
/// with `O_NONBLOCK | O_NOFOLLOW`, and at most `limit` bytes of each are read. Each refusal is a warning.
struct SysfsReader {
    let root: String
    /// The root's real path: what every resolved path must stay below.
    let realRoot: String
    var bag: DiagnosticBag
    /// Refusals noted by the non-mutating readers, turned into warnings at the end of `snapshot()`.
    let refusals = Refusals()

    final class Refusals: @unchecked Sendable {
        var notes: [String] = []
        var seen = Set<String>()
        func note(_ key: String, _ message: String) {
            if seen.insert(key).inserted { notes.append(message) }
        }
    }

    init(root: String) {
        var r = root
        while r.count > 1, r.hasSuffix("/") { r.removeLast() }
        self.root = r.isEmpty ? "/" : r
        bag = DiagnosticBag(file: self.root == "/" ? "/sys" : self.root)
        realRoot = Self.realPath(self.root) ?? self.root
    }

    func path(_ relative: String) -> String { root == "/" ? "/" + relative : root + "/" + relative }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Where `relative` really is, when that is below the root; nil when it does not exist or a link leads out.
    func contained(_ relative: String) -> String? {
        guard let real = Self.realPath(path(relative)) else { return nil }
        guard realRoot == "/" || real == realRoot || real.hasPrefix(realRoot + "/") else {
            refusals.note(relative, "\(relative): a link leads out of the root (to \(real)); not read")
            return nil
        }
        return real
    }

    /// The size limit of one attribute: sysfs attributes are at most a page, `config` 4096 bytes; the largest,
    /// `proc/cpuinfo` of a many-core machine, a few MiB.
    static let defaultLimit = 4 << 20

    /// Reads at most `limit` bytes of a regular file below the root (sysfs attributes report a size that is not
    /// their length, so the size is not trusted either way).
    func readBytes(_ relative: String, limit: Int = SysfsReader.defaultLimit) -> [UInt8]? {
        guard let real = contained(relative) else { return nil }
        var st = stat()
        guard lstat(real, &st) == 0 else { return nil }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG else {
            let what = type == S_IFIFO ? "a FIFO" : type == S_IFSOCK ? "a socket" : type == S_IFCHR ? "a character device"
                : type == S_IFBLK ? "a block device" : type == S_IFDIR ? "a directory" : "not a regular file"
            refusals.note(relative, "\(relative): \(what), not a regular file; not read")
            return nil
        }
        let fd = open(real, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // The file opened must be the one checked (nothing swapped in between).
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG, opened.st_ino == st.st_ino, opened.st_dev == st.st_dev else {
            refusals.note(relative, "\(relative): changed while it was opened; not read")
            return nil
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min(4096, limit - out.count)) }
            if n < 0 { return out.isEmpty ? nil : out }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        if out.count >= limit {
            var probe: UInt8 = 0
            if read(fd, &probe, 1) > 0 { refusals.note(relative, "\(relative): larger than \(limit) bytes; the rest is not read") }
        }
        return out
    }

    func text(_ relative: String) -> String? {
        readBytes(relative).map { String(decoding: $0, as: UTF8.self).trimmingSpaces }.map(String.init)
    }

    /// A link's text, read without following it; its folder must lie below the root.
    func linkTarget(_ relative: String) -> String? {
        let parent = relative.split(separator: "/").dropLast().joined(separator: "/")
        guard parent.isEmpty || contained(parent) != nil else { return nil }
        return try? FileManager.default.destinationOfSymbolicLink(atPath: path(relative))
    }

    func linkName(_ relative: String) -> String? {
        linkTarget(relative).flatMap { $0.split(separator: "/").last.map(String.init) }
    }

    func list(_ relative: String) -> [String]? {
        guard let real = contained(relative) else { return nil }
        return try? FileManager.default.contentsOfDirectory(atPath: real)
    }

    /// Resolves a link below the root lexically (an absolute target is taken as below the root too).
    func resolve(_ relative: String) -> String? {
        guard let target = linkTarget(relative) else { return nil }
        let base = target.hasPrefix("/") ? target : relative.split(separator: "/").dropLast().joined(separator: "/") + "/" + target
        var parts: [Substring] = []
        for c in base.split(separator: "/") {
            if c == "." { continue }
            if c == ".." {
                if !parts.isEmpty { parts.removeLast() }
            } else {
                parts.append(c)
            }
        }
        return parts.joined(separator: "/")
    }

    mutating func snapshot() throws(DiagnosticError) -> SysfsSnapshot {
        let devicesDir = "sys/bus/pci/devices"
        guard let names = list(devicesDir) else {
            throw DiagnosticError(file: path(devicesDir), "no PCI devices directory (is \(root) a Linux root with /sys mounted?)")
        }
        var functions: [SysfsSnapshot.Function] = []
        var hostBridges: [SysfsSnapshot.HostBridge] = []
        var skippedDomains = Set<String>()
        for name in names.sorted() {
            guard let bdf = BDF(name) else {
                if let seg = name.split(separator: ":").first, seg.count > 4 { skippedDomains.insert(String(seg)) } else {
                    bag.warning(nil, "\(devicesDir)/\(name): not a PCI address; skipped")
                }
                continue
            }
            let linkPath = devicesDir + "/" + name
            let devicePath = resolve(linkPath) ?? linkPath
            var parent: BDF?
            var rootKey: (UInt16, UInt8)?
            var hostPath = ""
            let components = devicePath.split(separator: "/")
            for (i, c) in components.enumerated() {
                if let hb = Self.hostBridge(c) {
                    rootKey = hb
                    hostPath = components[...i].joined(separator: "/")
                    parent = nil
                } else if rootKey != nil, let b = BDF(c), b != bdf {
                    parent = b
                }
            }
            if rootKey == nil {
                bag.warning(nil, "\(linkPath): the device path \(devicePath) names no pci<segment>:<bus> host bridge; taken as a root-bus function")
            }
            let key = rootKey ?? (bdf.segment, bdf.bus)
            if !hostBridges.contains(where: { $0.segment == key.0 && $0.bus == key.1 }) {
                hostBridges.append(SysfsSnapshot.HostBridge(segment: key.0, bus: key.1, path: hostPath))
            }
            functions.append(readFunction(bdf, dir: devicePath, parent: parent, root: key))
        }
        for d in skippedDomains.sorted() {
            bag.warning(nil, "PCI domain \(d) (beyond 16 bits, e.g. an Intel VMD domain) is not modeled; its functions are skipped")
        }
        functions.sort { $0.bdf < $1.bdf }
        hostBridges.sort { ($0.segment, $0.bus) < ($1.segment, $1.bus) }
        let iommus = readIOMMUs(), groups = readIOMMUGroups(), cpu = readCPU()
        let cmdline = text("proc/cmdline"), release = text("proc/sys/kernel/osrelease")
        for note in refusals.notes { bag.warning(nil, note) }
        return SysfsSnapshot(root: root, functions: functions, hostBridges: hostBridges, iommus: iommus,
                             iommuGroups: groups, cpu: cpu, kernelCommandLine: cmdline,
                             kernelRelease: release, diagnostics: bag.diagnostics)
    }

    /// `pci0000:16` -> (0x0000, 0x16).
    static func hostBridge(_ component: Substring) -> (UInt16, UInt8)? {
        guard component.hasPrefix("pci") else { return nil }
        let parts = component.dropFirst(3).split(separator: ":")
        guard parts.count == 2, let seg = UInt16(parts[0], radix: 16), let bus = UInt8(parts[1], radix: 16) else { return nil }
        return (seg, bus)
    }

    func hex16(_ relative: String) -> UInt16? { text(relative).flatMap { PCIClass.hexValue($0) }.flatMap { UInt16(exactly: $0) } }
    func decimal(_ relative: String) -> Int? { text(relative).flatMap { Int($0) } }

    mutating func readFunction(_ bdf: BDF, dir: String, parent: BDF?, root: (UInt16, UInt8)) -> SysfsSnapshot.Function {
        func at(_ name: String) -> String { dir + "/" + name }
        let vendor = hex16(at("vendor"))
        let device = hex16(at("device"))
        let subVendor = hex16(at("subsystem_vendor"))
        let subDevice = hex16(at("subsystem_device"))
        var resources: [SysfsSnapshot.Resource] = []
        for line in (text(at("resource")) ?? "").split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 3, let s = PCIClass.hexValue(fields[0]), let e = PCIClass.hexValue(fields[1]),
                  let f = PCIClass.hexValue(fields[2]) else { continue }
            resources.append(SysfsSnapshot.Resource(start: s, end: e, flags: f))
        }
        func link(_ prefix: String) -> SysfsSnapshot.Link? {
            let speed = text(at(prefix + "_link_speed"))
            let width = decimal(at(prefix + "_link_width"))
            guard speed != nil || width != nil else { return nil }
            return SysfsSnapshot.Link(speedText: speed, generation: speed.flatMap { LinkGeneration(speedText: $0) },
                                      width: width.flatMap { $0 > 0 ? $0 : nil })
        }
        var p2pmem: SysfsSnapshot.P2PMem?
        if let size = text(at("p2pmem/size")) {
            p2pmem = SysfsSnapshot.P2PMem(size: UInt64(size), available: text(at("p2pmem/available")).flatMap { UInt64($0) },
                                          isPublished: text(at("p2pmem/published")).map { $0 == "1" })
        }
        var sriov: SysfsSnapshot.SRIOV?
        if let total = decimal(at("sriov_totalvfs")) {
            sriov = SysfsSnapshot.SRIOV(totalVFs: total, numVFs: decimal(at("sriov_numvfs")) ?? 0,
                                        offset: decimal(at("sriov_offset")), stride: decimal(at("sriov_stride")),
                                        vfDevice: hex16(at("sriov_vf_device")))
        }
        let configBytes = readBytes(at("config"), limit: 4096)
        if configBytes == nil { bag.warning(nil, "\(at("config")): not readable") }
        let numa = decimal(at("numa_node"))
        return SysfsSnapshot.Function(
            bdf: bdf, devicePath: dir, parent: parent, rootSegment: root.0, rootBus: root.1,
            id: vendor.flatMap { v in device.map { PCIID(vendor: v, device: $0) } },
            subsystemID: subVendor.flatMap { v in subDevice.map { PCIID(vendor: v, device: $0) } },
            classCode: text(at("class")).flatMap { PCIClass.hexValue($0) }.flatMap { UInt32(exactly: $0) },
            revision: text(at("revision")).flatMap { PCIClass.hexValue($0) }.flatMap { UInt8(exactly: $0) },
            resources: resources, currentLink: link("current"), maxLink: link("max"),
            numaNode: numa.flatMap { $0 >= 0 ? $0 : nil }, iommuGroup: linkName(at("iommu_group")).flatMap { Int($0) },
            iommu: linkName(at("iommu")), driver: linkName(at("driver")), p2pmem: p2pmem, sriov: sriov,
            physicalFunction: linkName(at("physfn")).flatMap { BDF($0) },
            config: configBytes.map { PCIConfigSpace(bytes: $0) },
            hasLinkAttributes: contained(at("current_link_speed")) != nil)
    }

    func readIOMMUs() -> [SysfsSnapshot.IOMMU] {
        (list("sys/class/iommu") ?? []).sorted().map { name in
            let kind: IOMMUKind?
            if name.hasPrefix("dmar") { kind = .vtd } else if name.hasPrefix("ivhd") { kind = .amdVi } else if name.hasPrefix("smmu") { kind = .smmuv3 } else { kind = nil }
            return SysfsSnapshot.IOMMU(name: name, kind: kind)
        }
    }

    func readIOMMUGroups() -> [SysfsSnapshot.IOMMUGroup] {
        let dir = "sys/kernel/iommu_groups"
        return (list(dir) ?? []).compactMap { Int($0) }.sorted().map { n in
            SysfsSnapshot.IOMMUGroup(number: n, type: text("\(dir)/\(n)/type"),
                                     devices: (list("\(dir)/\(n)/devices") ?? []).compactMap { BDF($0) }.sorted())
        }
    }

    func readCPU() -> SysfsSnapshot.CPUInfo? {
        guard let text = text("proc/cpuinfo"), !text.isEmpty else { return nil }
        var vendorID: String?
        var family: Int?
        var model: Int?
        var implementer: String?
        var packages = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingSpaces
            let value = String(line[line.index(after: colon)...].trimmingSpaces)
            switch key {
            case "vendor_id": if vendorID == nil { vendorID = value }
            case "cpu family": if family == nil { family = Int(value) }
            case "model": if model == nil { model = Int(value) }
            case "CPU implementer": if implementer == nil { implementer = value }
            case "physical id": packages.insert(value)
            default: break
            }
        }
        let vendor: CPUVendor
        if let v = vendorID { vendor = ImportedCPU.vendor(fromVendorID: v) } else if implementer != nil { vendor = .arm } else { vendor = .other }
        return SysfsSnapshot.CPUInfo(vendorID: vendorID, vendor: vendor, family: family, model: model, packages: max(packages.count, 1))
    }
}
