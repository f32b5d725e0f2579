// Vendor and device names from a pci.ids file, as lspci prints them (`NVIDIA Corporation GA100 [A100 SXM4 40GB]`),
// and back: an `lspci -vvv` pasted without `-nn` names its devices only, and the import reads their IDs back here.
// The file is the system's (/usr/share/misc/pci.ids, /usr/share/hwdata/pci.ids, where lspci looks) or the one
// PCIESIM_PCI_IDS names; the report says which, so a report is the same for the same pci.ids. The parser is bounded
// and never fails: lines it does not understand are counted and skipped.
//
// Format (the pci.ids header; https://pci-ids.ucw.cz): `vendor  vendor_name`, then `<TAB>device  device_name`,
// then `<TAB><TAB>subvendor subdevice  subsystem_name`; `#` comments; the class list (`C class  class_name`) at the
// end, which is not read.
import Foundation


public struct PCINames: Sendable, Hashable {
    /// The file the names came from, as given (a path).
    public var source: String
    public var vendors: [UInt16: String] = [:]
    /// vendor << 16 | device.
    public var devices: [UInt32: String] = [:]
    /// Lines that were neither comments, blank, nor a vendor, device or subsystem entry.
    public var malformedLines = 0

    /// The most the parser reads of a file, and the longest line and name it keeps (pci.ids is about 1.5 MB).
    public static let maxBytes = 16 << 20
    public static let maxLineBytes = 1024
    public static let maxNameCharacters = 200
    /// Where lspci looks, in order (pciutils' PCI_IDS_DIR on Debian, and hwdata's).
    public static let systemPaths = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"]

    public init(source: String) { self.source = source }

    /// Parses pci.ids text: at most `maxBytes`, lines longer than `maxLineBytes` count as malformed.
    public static func parse(_ bytes: [UInt8], source: String) -> PCINames {
        var names = PCINames(source: source)
        var vendor: UInt16?
        var lineStart = 0
        func hex4(_ s: Substring) -> UInt16? { s.count == 4 && s.allSatisfy(\.isHexDigit) ? UInt16(s, radix: 16) : nil }
        func name(_ s: Substring) -> String? {
            let n = s.drop { $0 == " " || $0 == "\t" }
            let trimmed = String(n.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
            guard !trimmed.isEmpty, !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 }) else { return nil }
            return String(trimmed.prefix(maxNameCharacters))
        }
        func handle(_ raw: ArraySlice<UInt8>) -> Bool {
            guard raw.count <= maxLineBytes else { names.malformedLines += 1; return true }
            let line = Substring(String(decoding: raw, as: UTF8.self))
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) || line.hasPrefix("#") { return true }
            if line.hasPrefix("C ") { return false }  // the device class list: the end of what is read
            if line.hasPrefix("\t\t") { if vendor == nil { names.malformedLines += 1 }; return true }  // subsystems: not used
            if line.hasPrefix("\t") {
                let body = line.dropFirst()
                guard let v = vendor, let d = hex4(body.prefix(4)), body.dropFirst(4).first == " ", let n = name(body.dropFirst(4)) else {
                    names.malformedLines += 1
                    return true
                }
                names.devices[UInt32(v) << 16 | UInt32(d)] = n
                return true
            }
            guard let v = hex4(line.prefix(4)), line.dropFirst(4).first == " ", let n = name(line.dropFirst(4)) else {
                names.malformedLines += 1
                vendor = nil  // a device line after a broken vendor line must not name the previous vendor's devices
                return true
            }
            vendor = v
            names.vendors[v] = n
            return true
        }
        var i = 0
        let end = min(bytes.count, maxBytes)
        while i < end {
            if bytes[i] == UInt8(ascii: "\n") {
                if !handle(bytes[lineStart..<i]) { return names }
                lineStart = i + 1
            }
            i += 1
        }
        if lineStart != i { _ = handle(bytes[lineStart..<i]) }
        return names
    }

    /// Reads and parses a file (at most `maxBytes`); nil when it cannot be read.
    public static func load(path: String) -> PCINames? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maxBytes), !data.isEmpty else { return nil }
        return parse([UInt8](data), source: path)
    }

    /// The file PCIESIM_PCI_IDS names (empty or `none`: no names), else the first of `systemPaths` that reads.
    public static func system(environment: [String: String] = ProcessInfo.processInfo.environment) -> PCINames? {
        if let path = environment["PCIESIM_PCI_IDS"] {
            return path.isEmpty || path == "none" ? nil : load(path: path)
        }
        for p in systemPaths { if let n = load(path: p) { return n } }
        return nil
    }

    /// The system's names, read once per process.
    public static let shared: PCINames? = system()

    /// What a name printed by lspci (without `-nn`) reads back to.
    public enum Lookup: Sendable, Hashable {
        case id(PCIID)
        /// The vendor is known, but the device name is not in the file or several device IDs carry it.
        case deviceAmbiguous(vendor: UInt16, candidates: Int)
        case unknown
    }

    /// `Vendor Device` as lspci prints it; `Vendor Device 20b0` when only the vendor is known; nil when neither is.
    public func name(vendor: UInt16, device: UInt16) -> String? {
        guard let v = vendors[vendor] else { return nil }
        return v + " " + (devices[UInt32(vendor) << 16 | UInt32(device)] ?? "Device " + hex(Int(device), 4))
    }
}

/// pci.ids by name: what an lspci header without `-nn` reads back to.
public struct PCINameIndex: Sendable {
    public let source: String
    var vendorsByName: [String: [UInt16]] = [:]
    var devicesByName: [String: [UInt16]] = [:]   // "vvvv name"
    var longestVendorName = 0

    public init(_ names: PCINames) {
        source = names.source
        for (v, n) in names.vendors {
            vendorsByName[n, default: []].append(v)
            longestVendorName = max(longestVendorName, n.count)
        }
        for (key, n) in names.devices { devicesByName[hex(Int(key >> 16), 4) + " " + n, default: []].append(UInt16(key & 0xFFFF)) }
    }

    /// The longest vendor name the text starts with (followed by a space), then the device name, or lspci's
    /// `Device 09a2` for a device the file does not name. Two vendors of that name, or a device name several IDs of
    /// the vendor share, are ambiguous and never guessed.
    public func lookup(lspciName text: Substring) -> PCINames.Lookup {
        var names = text
        for marker in [" (rev ", " (prog-if "] {
            if let r = names.range(of: marker) { names = names[..<r.lowerBound] }
        }
        let trimmed = names.trimmingCharacters(in: .whitespaces)
        // Vendor names end where a space follows: try each such prefix, longest first.
        var ends: [String.Index] = []
        var i = trimmed.startIndex
        while i < trimmed.endIndex, trimmed.distance(from: trimmed.startIndex, to: i) <= longestVendorName {
            if trimmed[i] == " " { ends.append(i) }
            i = trimmed.index(after: i)
        }
        for end in ends.reversed() {
            guard let vendors = vendorsByName[String(trimmed[..<end])] else { continue }
            guard vendors.count == 1 else { return .unknown }
            let vendor = vendors[0]
            let deviceName = trimmed[trimmed.index(after: end)...]
            if deviceName.hasPrefix("Device "), deviceName.count == 11, let d = UInt16(deviceName.dropFirst(7), radix: 16) {
                return .id(PCIID(vendor: vendor, device: d))
            }
            let ids = devicesByName[hex(Int(vendor), 4) + " " + deviceName] ?? []
            return ids.count == 1 ? .id(PCIID(vendor: vendor, device: ids[0])) : .deviceAmbiguous(vendor: vendor, candidates: ids.count)
        }
        return .unknown
    }
}
