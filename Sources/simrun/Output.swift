// Shared CLI plumbing: output formats, diagnostics to stderr, exit codes, atomic file writes.
import ArgumentParser
import Foundation
import Sim

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Writes to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Prints every diagnostic to stderr in `file:line: severity: message` form.
func report(_ diagnostics: [Diagnostic]) {
    for d in diagnostics { printError(d.description) }
}

/// Loads a topology file, printing its problems; exits 1 (bad input) when it has errors.
func loadTopology(_ path: String) throws -> LoadedTopology {
    switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology.load(path: path) }) {
    case .success(let loaded):
        report(loaded.warnings)
        return loaded
    case .failure(let error):
        report(error.diagnostics)
        throw ExitCode(1)
    }
}

/// Writes a file atomically (temporary file then rename(2): AtomicFile), so a failed run never leaves half a file.
func writeAtomically(_ text: String, to path: String) throws {
    if let reason = AtomicFile.write(text, to: path) {
        printError("\(path): error: cannot write: \(reason)")
        throw ExitCode(1)
    }
}
