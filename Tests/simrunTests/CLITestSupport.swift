// Runs the built simrun binary and compares output with golden files (recorded only on purpose).
import Foundation
import Testing

let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

/// The simrun executable next to the test bundle (SwiftPM puts both in the same products folder).
let simrunPath: String = {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("simrun").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
    }
    return repositoryRoot.appendingPathComponent(".build/debug/simrun").path
}()

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs simrun with arguments, from the repository root so relative paths in output are stable.
func simrun(_ arguments: [String], stdin: String? = nil) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: simrunPath)
    process.arguments = arguments
    process.currentDirectoryURL = repositoryRoot
    // Hermetic: the machine's pci.ids (installed with pciutils or not) must not change imports or report names.
    var env = ProcessInfo.processInfo.environment
    if env["PCIESIM_PCI_IDS"] == nil { env["PCIESIM_PCI_IDS"] = "none" }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes fully before waiting, so a large output cannot block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                     stderr: String(decoding: e, as: UTF8.self))
}

/// Compares `actual` with Tests/simrunTests/Golden/<name>. With PCIESIM_RECORD_GOLDEN=1 the file is
/// rewritten and the test fails, so a recording run can never pass silently.
func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = repositoryRoot.appendingPathComponent("Tests/simrunTests/Golden").appendingPathComponent(name)
    if ProcessInfo.processInfo.environment["PCIESIM_RECORD_GOLDEN"] == "1" {
        try actual.write(to: url, atomically: true, encoding: .utf8)
        Issue.record("recorded golden file \(name); run again without PCIESIM_RECORD_GOLDEN", sourceLocation: sourceLocation)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    if expected != actual {
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
        Issue.record("output differs from golden \(name) at line \(first + 1):\n  got:      \(first < a.count ? a[first] : "<end>")\n  expected: \(first < b.count ? b[first] : "<end>")",
                     sourceLocation: sourceLocation)
    }
}
