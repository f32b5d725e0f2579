// simrun import FILE: which importer a file or folder is for, told by its content (issue #17).
import Foundation

/// The formats `simrun import` reads, detected by content rather than by name or extension.
public enum ImportFormat: String, Sendable, CaseIterable {
    /// A folder holding `sys/bus/pci/devices` (a live `/` or a copied tree).
    case sysfs
    /// `lspci -vvv` (any of -nn, -D, -P/-PP, -k) and/or `lspci -t`/`-tv` text.
    case lspci
    /// hwloc XML (`lstopo --of xml`): a `<topology>` root with `<object>` elements.
    case hwloc
    /// NCCL's topology dump (`NCCL_TOPO_DUMP_FILE`): a `<system>` root.
    case nccl

    /// The format of `path`, or an error that says what was found instead.
    public static func detect(path: String) throws(DiagnosticError) -> ImportFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DiagnosticError(file: path, "no such file or folder")
        }
        if isDirectory.boolValue {
            if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("sys/bus/pci/devices")) { return .sysfs }
            throw DiagnosticError(file: path, "a folder, but not a sysfs tree: expected \(path)/sys/bus/pci/devices (give the folder that holds sys/ and proc/, '/' for this machine)")
        }
        let bytes = try SafeXML.readFile(path, limits: XMLLimits(maxBytes: 64 << 20))
        return try detect(text: String(decoding: bytes.prefix(1 << 20), as: UTF8.self), file: path)
    }

    /// The format of a text; `file` names it in errors.
    public static func detect(text: String, file: String) throws(DiagnosticError) -> ImportFormat {
        if let root = rootElement(text) {
            switch root {
            case "system": return .nccl
            case "topology":
                if text.contains("<object") { return .hwloc }
                if text.contains("<root-complex") || text.contains("<socket") {
                    throw DiagnosticError(file: file, "already a PCIeSim topology (<topology> with <root-complex>): nothing to import; use it as it is")
                }
                throw DiagnosticError(file: file, "a <topology> root without hwloc <object> elements: neither hwloc nor PCIeSim XML")
            default:
                throw DiagnosticError(file: file, "XML with root element <\(root)>: not hwloc (<topology>) or NCCL (<system>) XML")
            }
        }
        for row in text.split(whereSeparator: \.isNewline) {
            if LspciParser.headerBDF(row) != nil || LspciTreeParser.isTreeLine(row) { return .lspci }
        }
        throw DiagnosticError(file: file, "cannot tell the format: not a sysfs folder, lspci text (no line like '00:01.0 PCI bridge: ...' or '-[0000:00]-+-00.0'), hwloc XML or NCCL XML")
    }

    /// The name of the first element, skipping the XML declaration, comments and a DOCTYPE; nil when the text
    /// does not start (after white space and a BOM) with markup.
    static func rootElement(_ text: String) -> String? {
        var s = Substring(text)
        if s.hasPrefix("\u{FEFF}") { s = s.dropFirst() }
        while true {
            s = s.drop { $0.isWhitespace }
            guard s.hasPrefix("<") else { return nil }
            if s.hasPrefix("<?") || s.hasPrefix("<!") {
                let end = s.hasPrefix("<!--") ? s.range(of: "-->")?.upperBound : s.firstIndex(of: ">").map { s.index(after: $0) }
                guard let end else { return nil }
                s = s[end...]
                continue
            }
            let name = s.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ":" }
            return name.isEmpty ? nil : String(name)
        }
    }

    /// Detects and imports. Two lspci files are a `-vvv` text and a `-tv` tree, in either order.
    public static func importAny(paths: [String], options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        guard let first = paths.first, paths.count <= 2 else {
            throw DiagnosticError(file: "<arguments>", "give one file or folder to import (or an lspci -vvv file and its lspci -tv tree)")
        }
        let format = try detect(path: first)
        if paths.count == 2 {
            let second = try detect(path: paths[1])
            guard format == .lspci, second == .lspci else {
                throw DiagnosticError(file: paths[1], "a second file is read only with lspci text (the -tv tree beside the -vvv text); here \(first) is \(format.rawValue) and \(paths[1]) is \(second.rawValue)")
            }
            // The tree is the file without device headers.
            let firstHasHeaders = try hasLspciHeaders(first)
            let secondHasHeaders = try hasLspciHeaders(paths[1])
            let (vvv, tree) = firstHasHeaders || !secondHasHeaders ? (first, paths[1]) : (paths[1], first)
            return try LspciImporter.read(path: vvv, treePath: tree, options: options)
        }
        switch format {
        case .sysfs: return try SysfsImporter.read(root: first, options: options)
        case .lspci: return try LspciImporter.read(path: first, options: options)
        case .hwloc: return try HwlocImporter.read(path: first, options: options)
        case .nccl: return try NCCLImporter.read(path: first, options: options)
        }
    }

    static func hasLspciHeaders(_ path: String) throws(DiagnosticError) -> Bool {
        let text = try LspciImporter.readText(path)
        return text.split(whereSeparator: \.isNewline).contains { LspciParser.headerBDF($0) != nil }
    }
}
