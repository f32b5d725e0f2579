// Identifiers and units shared by the whole model: BDF, vendor:device IDs, sizes, time and rates.

/// Simulated time and durations, in picoseconds (integer, so the clock never drifts).
public typealias Picoseconds = Int64

/// A PCI function address as Linux prints it: `0000:03:00.0` (segment:bus:device.function).
public struct BDF: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var segment: UInt16
    public var bus: UInt8
    public var device: UInt8
    public var function: UInt8

    public init(segment: UInt16 = 0, bus: UInt8, device: UInt8, function: UInt8) {
        self.segment = segment
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Requester ID as carried in a TLP: bus[15:8] device[7:3] function[2:0].
    public var requesterID: UInt16 { UInt16(bus) << 8 | UInt16(device) << 3 | UInt16(function) }
    public var devfn: UInt8 { device << 3 | function }

    public init(segment: UInt16, requesterID: UInt16) {
        self.init(segment: segment, bus: UInt8(requesterID >> 8), device: UInt8((requesterID >> 3) & 0x1f),
                  function: UInt8(requesterID & 7))
    }

    public var description: String {
        hex(Int(segment), 4) + ":" + hex(Int(bus), 2) + ":" + hex(Int(device), 2) + "." + String(function)
    }

    /// Parses `0000:03:00.0` or `03:00.0` (segment 0).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        let seg = parts.count == 3 ? UInt16(parts[0], radix: 16) : 0
        let bus = UInt8(parts[parts.count - 2], radix: 16)
        let df = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
        guard let seg, let bus, df.count == 2, let dev = UInt8(df[0], radix: 16), let fn = UInt8(df[1], radix: 16),
              dev < 32, fn < 8 else { return nil }
        self.init(segment: seg, bus: bus, device: dev, function: fn)
    }

    public static func < (a: BDF, b: BDF) -> Bool {
        (a.segment, a.bus, a.device, a.function) < (b.segment, b.bus, b.device, b.function)
    }
}

/// A PCI vendor:device pair, printed `8086:09a2` as lspci -n does.
public struct PCIID: Hashable, Sendable, CustomStringConvertible {
    public var vendor: UInt16
    public var device: UInt16
    public init(vendor: UInt16, device: UInt16) {
        self.vendor = vendor
        self.device = device
    }
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 4,
              let v = UInt16(parts[0], radix: 16), let d = UInt16(parts[1], radix: 16) else { return nil }
        self.init(vendor: v, device: d)
    }
    public var description: String { hex(Int(vendor), 4) + ":" + hex(Int(device), 4) }

    public static let intel: UInt16 = 0x8086
    public static let amd: UInt16 = 0x1022
    public static let nvidia: UInt16 = 0x10de
}

/// Lower-case hexadecimal, zero-padded to `width` digits.
@inlinable
public func hex(_ value: some BinaryInteger, _ width: Int) -> String {
    let s = String(value, radix: 16)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// A half-open or inclusive MMIO range `[start, end]` (inclusive end, as Linux prints resources).
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    public var start: UInt64
    public var end: UInt64   // inclusive
    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }
    public init(start: UInt64, size: UInt64) {
        self.start = start
        self.end = start &+ size &- 1
    }
    public var size: UInt64 { end &- start &+ 1 }
    public func contains(_ address: UInt64) -> Bool { address >= start && address <= end }
    public func contains(_ other: AddressRange) -> Bool { other.start >= start && other.end <= end }
    public func overlaps(_ other: AddressRange) -> Bool { start <= other.end && other.start <= end }
    public var description: String { "0x" + hex(start, 9) + "-0x" + hex(end, 9) }

    /// Parses `0xa0000000-0xa01fffff`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let s = parseInteger(parts[0]), let e = parseInteger(parts[1]), e >= s else { return nil }
        self.init(start: s, end: e)
    }
}

/// Parses `123`, `0x7b`.
public func parseInteger(_ text: some StringProtocol) -> UInt64? {
    let t = text.trimmingSpaces
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
    return UInt64(t)
}

/// Whether `text` is written as an integer (`123`, `0x7b`) whatever its size: the difference between
/// "malformed" and "out of range" when ``parseInteger(_:)`` gives nil.
public func isWellFormedInteger(_ text: some StringProtocol) -> Bool {
    let t = text.trimmingSpaces
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return t.count > 2 && t.dropFirst(2).allSatisfy(\.isHexDigit) }
    return !t.isEmpty && t.allSatisfy { $0.isASCII && $0.isNumber }
}

/// Why a number in an input could not be read.
public enum NumberParseError: Error, Sendable, Hashable {
    case malformed
    /// Written correctly but larger than the model can represent; `max` is the largest accepted, as written.
    case outOfRange(max: String)

    /// `<attribute> <value> is out of range (max …)`, or `<attribute> "<value>" is not <what>` when malformed.
    public func message(attribute: String, value: some StringProtocol, expected: String) -> String {
        switch self {
        case .malformed: "\(attribute) \"\(value)\" is not \(expected)"
        case .outOfRange(let max): "\(attribute) \(value) is out of range (max \(max))"
        }
    }
}

/// Reads a decimal or `0x` integer no larger than `maximum`.
public func parseInteger(_ text: some StringProtocol, maximum: UInt64) -> Result<UInt64, NumberParseError> {
    guard let v = parseInteger(text) else {
        return isWellFormedInteger(text) ? .failure(.outOfRange(max: String(maximum))) : .failure(.malformed)
    }
    return v <= maximum ? .success(v) : .failure(.outOfRange(max: String(maximum)))
}

/// Reads a decimal `Int` in `0...maximum` (the counts of scenario, plan and suite files).
public func parseCount(_ text: some StringProtocol, maximum: Int) -> Result<Int, NumberParseError> {
    let t = text.trimmingSpaces
    guard !t.hasPrefix("0x") else { return .failure(.malformed) }
    return parseInteger(t, maximum: UInt64(max(0, maximum))).map { Int($0) }
}

/// Byte sizes written as `4096`, `0x1000`, `16K`, `16M`, `32G`, `1T`, `256MiB`: K/M/G/T/P are powers of 1024
/// (as lspci prints `[size=16M]`).
public enum ByteSize {
    /// nil for malformed text and for sizes that overflow 64 bits.
    public static func parse(_ text: some StringProtocol) -> UInt64? {
        try? parseChecked(text, maximum: .max).get()
    }

    /// The size, or why it cannot be one: malformed, or over `maximum` bytes (the error names its written form),
    /// so a caller's `Int(size)` or `size * count` never traps.
    public static func parseChecked(_ text: some StringProtocol, maximum: UInt64 = 1 << 62) -> Result<UInt64, NumberParseError> {
        var t = Substring(text.trimmingSpaces)
        if t.hasSuffix("iB") { t = t.dropLast(2) } else if t.hasSuffix("B") && !t.hasPrefix("0x") { t = t.dropLast(1) }
        var shift: UInt64 = 0
        if let last = t.last, !t.hasPrefix("0x") {
            switch last {
            case "K", "k": shift = 10
            case "M": shift = 20
            case "G": shift = 30
            case "T": shift = 40
            case "P": shift = 50
            default: break
            }
            if shift != 0 { t = t.dropLast() }
        }
        let tooLarge = NumberParseError.outOfRange(max: format(maximum))
        guard let n = parseInteger(t) else { return isWellFormedInteger(t) ? .failure(tooLarge) : .failure(.malformed) }
        let (r, o) = n.multipliedReportingOverflow(by: 1 << shift)
        return o || r > maximum ? .failure(tooLarge) : .success(r)
    }

    /// The shortest exact form: `16M`, `32G`, `4K`, or bytes.
    public static func format(_ bytes: UInt64) -> String {
        if bytes == 0 { return "0" }
        for (shift, unit) in [(50, "P"), (40, "T"), (30, "G"), (20, "M"), (10, "K")] where bytes % (1 << UInt64(shift)) == 0 {
            return String(bytes >> UInt64(shift)) + unit
        }
        return String(bytes)
    }
}

/// Durations written as `105ns`, `1.5us`, `800ps`, `2ms`.
public enum Duration {
    /// The longest duration an input may give: 10^18 ps (1,000,000 s, about 11.6 days of simulated time). Sums of
    /// a few such values still fit `Picoseconds` (Int64, 9.2 x 10^18), so the engine's checked arithmetic never
    /// meets a value the reader let through.
    public static let maximum: Picoseconds = 1_000_000_000_000_000_000

    /// nil for malformed text and for durations over ``maximum`` (``parseChecked(_:)`` tells which).
    public static func parse(_ text: some StringProtocol) -> Picoseconds? {
        try? parseChecked(text).get()
    }

    /// The duration, or why it cannot be one: malformed, or out of range (never a trap on `1e300ns`).
    public static func parseChecked(_ text: some StringProtocol) -> Result<Picoseconds, NumberParseError> {
        let t = text.trimmingSpaces
        for (suffix, scale) in [("ps", 1.0), ("ns", 1e3), ("us", 1e6), ("ms", 1e9), ("s", 1e12)] where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v >= 0, !v.isNaN else { return .failure(.malformed) }
            let ps = (v * scale).rounded()
            guard ps <= Double(maximum) else { return .failure(.outOfRange(max: "1000000s")) }
            return .success(Picoseconds(ps))
        }
        return .failure(.malformed)
    }
    public static func format(_ ps: Picoseconds) -> String {
        if ps % 1000 == 0 { return "\(ps / 1000)ns" }
        return "\(ps)ps"
    }
}

/// A data rate in bytes per second (GB/s = 1e9 B/s, as the performance reference uses).
public struct DataRate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var bytesPerSecond: Double
    public init(bytesPerSecond: Double) { self.bytesPerSecond = bytesPerSecond }
    public static func gigabytesPerSecond(_ v: Double) -> DataRate { DataRate(bytesPerSecond: v * 1e9) }
    public var gigabytesPerSecond: Double { bytesPerSecond / 1e9 }
    public static func < (a: DataRate, b: DataRate) -> Bool { a.bytesPerSecond < b.bytesPerSecond }

    /// Parses `7.1GB/s`, `900MB/s`, `100Gb/s` (bits).
    public static func parse(_ text: some StringProtocol) -> DataRate? {
        let t = text.trimmingSpaces
        for (suffix, scale) in [("GB/s", 1e9), ("MB/s", 1e6), ("Gb/s", 1e9 / 8), ("Mb/s", 1e6 / 8)] where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v > 0, v.isFinite else { return nil }
            // Whole bytes per second, so a written rate reads back to the identical value; a rate that rounds to
            // 0 B/s is no rate (a model dividing by it met infinity, then a trap converting to picoseconds).
            let bytesPerSecond = (v * scale).rounded()
            return bytesPerSecond >= 1 ? DataRate(bytesPerSecond: bytesPerSecond) : nil
        }
        return nil
    }
    public var description: String { formatDecimal(gigabytesPerSecond) + "GB/s" }

    /// The exact written form: `7.1GB/s`, or MB/s when GB/s would need more than six decimals.
    public var exactText: String {
        let whole = bytesPerSecond.rounded()
        if whole.truncatingRemainder(dividingBy: 1000) == 0 { return formatDecimal(whole / 1e9) + "GB/s" }
        return formatDecimal(whole / 1e6) + "MB/s"
    }
}

/// A decimal without trailing zeros: 7.1, 22, 0.35.
public func formatDecimal(_ v: Double, maxFractionDigits: Int = 6) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    var scale = 1.0
    for digits in 1...maxFractionDigits {
        scale *= 10
        let r = (v * scale).rounded() / scale
        if abs(r - v) < 1e-12 * max(1, abs(v)) || digits == maxFractionDigits {
            var s = String(r)
            if s.contains("e") { s = String(v) }
            return s
        }
    }
    return String(v)
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines.
    public var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return s
    }
}
