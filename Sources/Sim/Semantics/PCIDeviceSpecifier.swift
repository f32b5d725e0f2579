// Device specifiers on the kernel command line (`pci_dev_str_match`, drivers/pci/pci.c), matched byte for byte.

/// The subset of the kernel's `vsscanf` (lib/vsprintf.c) that `pci_dev_str_match` uses: literal characters,
/// `%x`, `%hx`, `%c` and `%n`. Like the kernel, numbers skip leading blanks, `%x` accepts a `0x` prefix and
/// wraps on overflow, a literal mismatch stops the scan, and `%n` is honoured even at the end of the input.
enum KernelScanf {
    struct Result {
        /// Conversions assigned (`%n` does not count), the kernel's return value.
        var assigned = 0
        var values: [UInt64] = []
        /// The `%n` value, if the scan reached it.
        var consumed: Int?
    }

    static func scan(_ s: [UInt8], from start: Int, _ format: String) -> Result {
        var r = Result()
        let f = Array(format.utf8)
        var i = start
        var k = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) }
        func hexValue(_ c: UInt8) -> UInt64? {
            switch c {
            case 0x30...0x39: UInt64(c - 0x30)
            case 0x61...0x66: UInt64(c - 0x61 + 10)
            case 0x41...0x46: UInt64(c - 0x41 + 10)
            default: nil
            }
        }
        while k < f.count {
            if f[k] != UInt8(ascii: "%") {
                guard i < s.count, s[i] == f[k] else { return r }
                i += 1
                k += 1
                continue
            }
            k += 1
            var half = false
            if k < f.count, f[k] == UInt8(ascii: "h") {
                half = true
                k += 1
            }
            guard k < f.count else { return r }
            let conversion = f[k]
            k += 1
            if conversion == UInt8(ascii: "n") {
                r.consumed = i - start
                continue
            }
            guard i < s.count else { return r }
            if conversion == UInt8(ascii: "c") {
                r.values.append(UInt64(s[i]))
                i += 1
                r.assigned += 1
                continue
            }
            // %x: skip blanks, require a hex digit, take an optional 0x prefix.
            while i < s.count, isSpace(s[i]) { i += 1 }
            guard i < s.count, hexValue(s[i]) != nil else { return r }
            if s[i] == UInt8(ascii: "0"), i + 1 < s.count, s[i + 1] | 0x20 == UInt8(ascii: "x") { i += 2 }
            var v: UInt64 = 0
            while i < s.count, let d = hexValue(s[i]) {
                v = v &* 16 &+ d
                i += 1
            }
            r.values.append(half ? v & 0xffff : v & 0xffff_ffff)
            r.assigned += 1
        }
        return r
    }
}

/// `PCI_DEVFN(slot, func)`: both fields are masked, so `00:21.0` names device 1.
@inline(__always)
func pciDevfn(_ slot: UInt64, _ function: UInt64) -> Int { Int(((slot & 0x1f) << 3) | (function & 0x07)) }

extension Semantics.Nodes {
    /// `pci_dev_str_match(dev, p, &endptr)`: 1 when the specifier at `start` names `node`, 0 when it does not,
    /// -22 (`-EINVAL`) when it cannot be parsed; `end` is where the caller continues (`;` or `,` expected).
    ///
    /// Formats: `[<domain>:]<bus>:<device>.<func>[/<device>.<func>]*` (a path walked up with
    /// `pci_upstream_bridge`, the last component being the device itself) and
    /// `pci:<vendor>:<device>[:<subvendor>:<subdevice>]`, where 0 matches anything.
    func deviceStringMatch(_ node: Int, _ s: [UInt8], at start: Int) -> (result: Int, end: Int) {
        let pciPrefix = Array("pci:".utf8)
        if start + 4 <= s.count, Array(s[start..<(start + 4)]) == pciPrefix {
            let p = start + 4
            var r = KernelScanf.scan(s, from: p, "%hx:%hx:%hx:%hx%n")
            var ids = r.values
            if r.assigned != 4 {
                r = KernelScanf.scan(s, from: p, "%hx:%hx%n")
                guard r.assigned == 2 else { return (-22, start) }
                ids = [r.values[0], r.values[1], 0, 0]
            }
            let end = p + (r.consumed ?? 0)
            let sub = subsystem[node]
            let matches = (ids[0] == 0 || ids[0] == UInt64(id[node].vendor))
                && (ids[1] == 0 || ids[1] == UInt64(id[node].device))
                && (ids[2] == 0 || ids[2] == UInt64(sub?.vendor ?? 0))
                && (ids[3] == 0 || ids[3] == UInt64(sub?.device ?? 0))
            return (matches ? 1 : 0, end)
        }
        // pci_dev_str_match_path: the path runs to the next ';' (strchrnul), so ',' cannot separate paths.
        var end = start
        while end < s.count, s[end] != UInt8(ascii: ";") { end += 1 }
        var path = Array(s[start..<end])
        var dev = node
        while let slash = path.lastIndex(of: UInt8(ascii: "/")) {
            let r = KernelScanf.scan(path, from: slash, "/%x.%x%c")
            guard r.assigned == 2 else { return (-22, end) }
            guard Int(bdf[dev].devfn) == pciDevfn(r.values[0], r.values[1]) else { return (0, end) }
            guard upstream[dev] >= 0 else { return (0, end) }
            dev = upstream[dev]
            path.removeSubrange(slash...)
        }
        var r = KernelScanf.scan(path, from: 0, "%x:%x:%x.%x%c")
        var segment: UInt64 = 0, bus: UInt64, slot: UInt64, function: UInt64
        if r.assigned == 4 {
            (segment, bus, slot, function) = (r.values[0], r.values[1], r.values[2], r.values[3])
        } else {
            r = KernelScanf.scan(path, from: 0, "%x:%x.%x%c")
            guard r.assigned == 3 else { return (-22, end) }
            (bus, slot, function) = (r.values[0], r.values[1], r.values[2])
        }
        let matches = segment == UInt64(bdf[dev].segment) && bus == UInt64(bdf[dev].bus)
            && Int(bdf[dev].devfn) == pciDevfn(slot, function)
        return (matches ? 1 : 0, end)
    }
}

extension Semantics {
    /// The functions a device specifier list (`<dev>[;<dev>...]`, as `pci=disable_acs_redir=` takes) names,
    /// using the kernel's matcher; nil when the list cannot be parsed. For tools that show what a parameter
    /// will touch before booting with it.
    public func functions(matching list: String) -> [Int]? {
        let s = Array(list.utf8)
        var out: [Int] = []
        for f in 0..<nodes.functionCount {
            var p = 0
            while p < s.count {
                let (r, end) = nodes.deviceStringMatch(f, s, at: p)
                if r < 0 { return nil }
                if r == 1 {
                    out.append(f)
                    break
                }
                p = end
                guard p < s.count, s[p] == UInt8(ascii: ";") || s[p] == UInt8(ascii: ",") else { break }
                p += 1
            }
        }
        return out
    }
}
