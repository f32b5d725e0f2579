// The real backends: VFIO type1 (/dev/vfio) and iommufd (/dev/iommu) on the running Linux kernel. Each call is
// the ioctl itself (Sources/CSupport/vfio.c); the answer is what the kernel returned, errno included.
import CSupport
import Foundation

/// An open file descriptor, closed when the last copy of the backend goes.
final class FileDescriptor: @unchecked Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { _ = pciesim_close(fd) }
}

/// Anonymous memory mapped for the process's DMA buffers, unmapped at the end.
final class AnonymousMemory: @unchecked Sendable {
    let address: UnsafeMutableRawPointer
    let size: UInt64
    init(address: UnsafeMutableRawPointer, size: UInt64) {
        self.address = address
        self.size = size
    }
    deinit { _ = pciesim_munmap(address, size) }
}

/// Shared by the two real backends: the kernel's errno as a `MappingError`, sysfs reads, memory.
enum RealKernel {
    static func error(_ function: String, _ rc: Int32, _ what: String) -> MappingError {
        if let e = Errno(rawValue: -rc) { return MappingError(function, e, "the kernel answered \(e) to \(what)") }
        return MappingError(function, .EIO, "the kernel answered errno \(-rc) to \(what)")
    }

    /// `readlink /sys/bus/pci/devices/BDF/iommu_group` -> the group number.
    static func iommuGroup(_ bdf: BDF, root: String) -> Int? {
        let link = "\(root)/sys/bus/pci/devices/\(bdf)/iommu_group"
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { return nil }
        return Int(target.split(separator: "/").last ?? "")
    }

    static func readSysfs(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func available(_ function: String) throws(MappingError) {
        guard pciesim_vfio_available() == 1 else {
            throw MappingError(function, .ENOSYS, "VFIO and iommufd exist only on Linux; use --backend simulated here")
        }
    }

    static func mmap(_ size: UInt64, into buffers: inout [AnonymousMemory]) throws(MappingError) -> UInt64 {
        try available("mmap")
        #if os(Linux)
        var err: Int32 = 0
        guard let p = pciesim_mmap_anonymous(size, &err) else {
            throw MappingError("mmap", Errno(rawValue: err) ?? .ENOMEM, "anonymous mmap of \(size) bytes failed")
        }
        buffers.append(AnonymousMemory(address: p, size: size))
        return UInt64(UInt(bitPattern: p))
        #else
        throw MappingError("mmap", .ENOSYS, "not Linux")
        #endif
    }
}

/// `MappingBackend` over the running kernel's VFIO type1 IOMMU driver: a container (`/dev/vfio/vfio`) and the group of
/// one device bound to vfio-pci. Needs root (or the group's device node owned by the user) and a device bound to
/// vfio-pci (docs/MAPPING.md). The kernel-side calls (p2pdma, ACS) are not asked of it.
public struct VFIOBackend: MappingBackend {
    public let name = "vfio"
    public var kernelLog: [String] { [] }
    /// The file-system root of /sys and /dev (a real machine: "").
    public let root: String
    var container: FileDescriptor?
    var group: FileDescriptor?
    var buffers: [AnonymousMemory] = []

    public init(root: String = "") { self.root = root }

    /// Why this machine cannot make VFIO calls at all (not Linux, no /dev/vfio/vfio), or nil.
    public static func unavailableReason(root: String = "") -> String? {
        guard pciesim_vfio_available() == 1 else { return "VFIO exists only on Linux; use --backend simulated here" }
        guard FileManager.default.fileExists(atPath: "\(root)/dev/vfio/vfio") else {
            return "\(root)/dev/vfio/vfio does not exist: load the vfio-pci module and bind the device to it (docs/MAPPING.md)"
        }
        return nil
    }

    /// `/sys/module/vfio_iommu_type1/parameters/dma_entry_limit` of the running kernel (nil when not loaded).
    public func dmaEntryLimit() -> Int? {
        RealKernel.readSysfs("\(root)/sys/module/vfio_iommu_type1/parameters/dma_entry_limit").flatMap { Int($0) }
    }

    public mutating func pciP2PDMADistance(provider: Int, client: Int, verbose: Bool) -> Knowable<Int> {
        .unknown("the vfio backend makes the user-space mapping calls only")
    }
    public mutating func pciP2PDMAMapType(provider: Int, client: Int) -> Knowable<P2PMapType> {
        .unknown("the vfio backend makes the user-space mapping calls only")
    }
    public func iommuGroup(of device: Int) -> Knowable<Int> { .unknown("the vfio backend names devices by BDF") }
    public func acsControl(of device: Int) -> Knowable<ACSFlags?> { .unknown("the vfio backend makes the user-space mapping calls only") }

    public mutating func userMemory(size: UInt64) throws(MappingError) -> UInt64 {
        try RealKernel.mmap(size, into: &buffers)
    }

    public mutating func vfioOpenGroup(device bdf: BDF) throws(MappingError) -> VFIOGroupStatus {
        try RealKernel.available("open")
        #if os(Linux)
        guard let g = RealKernel.iommuGroup(bdf, root: root) else {
            throw MappingError("open", .ENOENT, "\(root)/sys/bus/pci/devices/\(bdf)/iommu_group does not exist (no such device, or no IOMMU)")
        }
        _ = try containerFD("open")
        let fd = pciesim_open_rdwr("\(root)/dev/vfio/\(g)")
        guard fd >= 0 else { throw RealKernel.error("open", fd, "open(\(root)/dev/vfio/\(g))") }
        group = FileDescriptor(fd)
        var flags: UInt32 = 0
        let rc = pciesim_vfio_group_get_status(fd, &flags)
        guard rc >= 0 else { throw RealKernel.error("VFIO_GROUP_GET_STATUS", rc, "VFIO_GROUP_GET_STATUS") }
        return VFIOGroupStatus(isViable: flags & 1 != 0, isContainerSet: flags & 2 != 0)
        #else
        throw MappingError("open", .ENOSYS, "not Linux")
        #endif
    }

    /// The container, `/dev/vfio/vfio`, opened at the first call that needs it (as a process opens it first).
    mutating func containerFD(_ fn: String) throws(MappingError) -> Int32 {
        try RealKernel.available(fn)
        if let c = container { return c.fd }
        let fd = pciesim_open_rdwr("\(root)/dev/vfio/vfio")
        guard fd >= 0 else { throw RealKernel.error("open", fd, "open(\(root)/dev/vfio/vfio) (is the vfio module loaded?)") }
        container = FileDescriptor(fd)
        let version = pciesim_vfio_get_api_version(fd)
        guard version == 0 else { throw MappingError("VFIO_GET_API_VERSION", .EINVAL, "API version \(version), expected VFIO_API_VERSION 0") }
        return fd
    }

    mutating func fds(_ fn: String) throws(MappingError) -> (container: Int32, group: Int32) {
        let c = try containerFD(fn)
        guard let g = group else { throw MappingError(fn, .EBADF, "no group is open (open-group first)") }
        return (c, g.fd)
    }

    public mutating func vfioGroupSetContainer() throws(MappingError) {
        #if os(Linux)
        let (c, g) = try fds("VFIO_GROUP_SET_CONTAINER")
        let rc = pciesim_vfio_group_set_container(g, c)
        guard rc >= 0 else { throw RealKernel.error("VFIO_GROUP_SET_CONTAINER", rc, "VFIO_GROUP_SET_CONTAINER") }
        #else
        throw MappingError("VFIO_GROUP_SET_CONTAINER", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func vfioSetIOMMU(_ type: UInt32) throws(MappingError) {
        #if os(Linux)
        let c = try containerFD("VFIO_SET_IOMMU")
        let rc = pciesim_vfio_set_iommu(c, type)
        guard rc >= 0 else { throw RealKernel.error("VFIO_SET_IOMMU", rc, "VFIO_SET_IOMMU(\(type))") }
        #else
        throw MappingError("VFIO_SET_IOMMU", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func vfioIOMMUGetInfo() throws(MappingError) -> VFIOIOMMUInfo {
        #if os(Linux)
        let c = try containerFD("VFIO_IOMMU_GET_INFO")
        var flags: UInt32 = 0, pgsizes: UInt64 = 0, count: UInt32 = 0, avail: Int64 = -1
        var ranges = [UInt64](repeating: 0, count: 2 * 64)
        let rc = pciesim_vfio_iommu_get_info(c, &flags, &pgsizes, &ranges, 64, &count, &avail)
        guard rc >= 0 else { throw RealKernel.error("VFIO_IOMMU_GET_INFO", rc, "VFIO_IOMMU_GET_INFO") }
        let n = Int(min(count, 64))
        return VFIOIOMMUInfo(flags: flags, iovaPageSizes: pgsizes,
                             iovaRanges: (0..<n).map { AddressRange(start: ranges[2 * $0], end: ranges[2 * $0 + 1]) },
                             dmaAvailable: avail >= 0 ? UInt32(avail) : nil)
        #else
        throw MappingError("VFIO_IOMMU_GET_INFO", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func vfioMapDMA(_ map: VFIODMAMap) throws(MappingError) {
        #if os(Linux)
        let c = try containerFD("VFIO_IOMMU_MAP_DMA")
        let rc = pciesim_vfio_map_dma(c, map.argsz, map.flags.rawValue, map.vaddr, map.iova, map.size)
        guard rc >= 0 else { throw RealKernel.error("VFIO_IOMMU_MAP_DMA", rc, "VFIO_IOMMU_MAP_DMA") }
        #else
        throw MappingError("VFIO_IOMMU_MAP_DMA", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func vfioUnmapDMA(_ unmap: VFIODMAUnmap) throws(MappingError) -> UInt64 {
        #if os(Linux)
        let c = try containerFD("VFIO_IOMMU_UNMAP_DMA")
        var size = unmap.size
        let rc = pciesim_vfio_unmap_dma(c, unmap.argsz, unmap.flags.rawValue, unmap.iova, &size)
        guard rc >= 0 else { throw RealKernel.error("VFIO_IOMMU_UNMAP_DMA", rc, "VFIO_IOMMU_UNMAP_DMA") }
        return size
        #else
        throw MappingError("VFIO_IOMMU_UNMAP_DMA", .ENOSYS, "not Linux")
        #endif
    }
}

/// `MappingBackend` over the running kernel's iommufd (`/dev/iommu`, Linux 6.2 and later): an IOAS, optionally with
/// a vfio-pci device's cdev (`/dev/vfio/devices/vfioX`, Linux 6.6 and later) bound and attached so that its
/// reserved ranges apply.
public struct IOMMUFDBackend: MappingBackend {
    public let name = "iommufd"
    public var kernelLog: [String] { [] }
    public let root: String
    var iommufd: FileDescriptor?
    var devices: [FileDescriptor] = []
    var buffers: [AnonymousMemory] = []

    public init(root: String = "") { self.root = root }

    /// Why this machine cannot make iommufd calls at all (not Linux, no /dev/iommu), or nil.
    public static func unavailableReason(root: String = "") -> String? {
        guard pciesim_vfio_available() == 1 else { return "iommufd exists only on Linux; use --backend simulated here" }
        guard FileManager.default.fileExists(atPath: "\(root)/dev/iommu") else {
            return "\(root)/dev/iommu does not exist: iommufd arrived in Linux 6.2 (CONFIG_IOMMUFD; modprobe iommufd)"
        }
        return nil
    }

    public mutating func pciP2PDMADistance(provider: Int, client: Int, verbose: Bool) -> Knowable<Int> {
        .unknown("the iommufd backend makes the user-space mapping calls only")
    }
    public mutating func pciP2PDMAMapType(provider: Int, client: Int) -> Knowable<P2PMapType> {
        .unknown("the iommufd backend makes the user-space mapping calls only")
    }
    public func iommuGroup(of device: Int) -> Knowable<Int> { .unknown("the iommufd backend names devices by BDF") }
    public func acsControl(of device: Int) -> Knowable<ACSFlags?> { .unknown("the iommufd backend makes the user-space mapping calls only") }

    public mutating func userMemory(size: UInt64) throws(MappingError) -> UInt64 {
        try RealKernel.mmap(size, into: &buffers)
    }

    mutating func fd(_ fn: String) throws(MappingError) -> Int32 {
        try RealKernel.available(fn)
        if let f = iommufd { return f.fd }
        let fd = pciesim_open_rdwr("\(root)/dev/iommu")
        guard fd >= 0 else { throw RealKernel.error("open", fd, "open(\(root)/dev/iommu) (iommufd arrived in Linux 6.2)") }
        iommufd = FileDescriptor(fd)
        return fd
    }

    public mutating func iommufdIOASAlloc(device: BDF?) throws(MappingError) -> UInt32 {
        #if os(Linux)
        let fd = try fd("IOMMU_IOAS_ALLOC")
        var ioas: UInt32 = 0
        let rc = pciesim_iommufd_ioas_alloc(fd, &ioas)
        guard rc >= 0 else { throw RealKernel.error("IOMMU_IOAS_ALLOC", rc, "IOMMU_IOAS_ALLOC") }
        if let bdf = device {
            // The device's cdev: /sys/bus/pci/devices/BDF/vfio-dev/vfioX.
            let dir = "\(root)/sys/bus/pci/devices/\(bdf)/vfio-dev"
            guard let name = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first(where: { $0.hasPrefix("vfio") }) else {
                throw MappingError("open", .ENOENT, "\(dir) has no vfioX (bind \(bdf) to vfio-pci; the cdev needs Linux 6.6 and CONFIG_VFIO_DEVICE_CDEV)")
            }
            let dfd = pciesim_open_rdwr("\(root)/dev/vfio/devices/\(name)")
            guard dfd >= 0 else { throw RealKernel.error("open", dfd, "open(/dev/vfio/devices/\(name))") }
            devices.append(FileDescriptor(dfd))
            var devid: UInt32 = 0
            let b = pciesim_vfio_device_bind_iommufd(dfd, fd, &devid)
            guard b >= 0 else { throw RealKernel.error("VFIO_DEVICE_BIND_IOMMUFD", b, "VFIO_DEVICE_BIND_IOMMUFD") }
            let a = pciesim_vfio_device_attach_ioas(dfd, ioas)
            guard a >= 0 else { throw RealKernel.error("VFIO_DEVICE_ATTACH_IOMMUFD_PT", a, "VFIO_DEVICE_ATTACH_IOMMUFD_PT") }
        }
        return ioas
        #else
        throw MappingError("IOMMU_IOAS_ALLOC", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func iommufdIOVARanges(ioas: UInt32) throws(MappingError) -> IOMMUFDIOVARanges {
        #if os(Linux)
        let fd = try fd("IOMMU_IOAS_IOVA_RANGES")
        var ranges = [UInt64](repeating: 0, count: 2 * 64)
        var count: UInt32 = 0, alignment: UInt64 = 0
        let rc = pciesim_iommufd_iova_ranges(fd, ioas, &ranges, 64, &count, &alignment)
        guard rc >= 0 else { throw RealKernel.error("IOMMU_IOAS_IOVA_RANGES", rc, "IOMMU_IOAS_IOVA_RANGES") }
        let n = Int(min(count, 64))
        return IOMMUFDIOVARanges(ranges: (0..<n).map { AddressRange(start: ranges[2 * $0], end: ranges[2 * $0 + 1]) }, alignment: alignment)
        #else
        throw MappingError("IOMMU_IOAS_IOVA_RANGES", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func iommufdAllowIOVAs(ioas: UInt32, _ ranges: [AddressRange]) throws(MappingError) {
        #if os(Linux)
        let fd = try fd("IOMMU_IOAS_ALLOW_IOVAS")
        let flat = ranges.flatMap { [$0.start, $0.end] }
        let rc = pciesim_iommufd_allow_iovas(fd, ioas, flat, UInt32(ranges.count))
        guard rc >= 0 else { throw RealKernel.error("IOMMU_IOAS_ALLOW_IOVAS", rc, "IOMMU_IOAS_ALLOW_IOVAS") }
        #else
        throw MappingError("IOMMU_IOAS_ALLOW_IOVAS", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func iommufdMap(ioas: UInt32, flags: IOMMUFDMapFlags, userVA: UInt64, length: UInt64, iova: UInt64) throws(MappingError) -> UInt64 {
        #if os(Linux)
        let fd = try fd("IOMMU_IOAS_MAP")
        var at = iova
        let rc = pciesim_iommufd_map(fd, ioas, flags.rawValue, userVA, length, &at)
        guard rc >= 0 else { throw RealKernel.error("IOMMU_IOAS_MAP", rc, "IOMMU_IOAS_MAP") }
        return at
        #else
        throw MappingError("IOMMU_IOAS_MAP", .ENOSYS, "not Linux")
        #endif
    }

    public mutating func iommufdUnmap(ioas: UInt32, iova: UInt64, length: UInt64) throws(MappingError) -> UInt64 {
        #if os(Linux)
        let fd = try fd("IOMMU_IOAS_UNMAP")
        var done = length
        let rc = pciesim_iommufd_unmap(fd, ioas, iova, &done)
        guard rc >= 0 else { throw RealKernel.error("IOMMU_IOAS_UNMAP", rc, "IOMMU_IOAS_UNMAP") }
        return done
        #else
        throw MappingError("IOMMU_IOAS_UNMAP", .ENOSYS, "not Linux")
        #endif
    }
}
