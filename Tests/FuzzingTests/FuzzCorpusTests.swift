// The fuzz targets replayed on their seed corpus (scripts/fuzz/seeds.txt) and on the fuzzers' findings
// (Fixtures/TARGET/): every input is read to a result or a clean `file:line: error:`, never a crash.
import Foundation
import Fuzzing
import Testing

private let root: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

/// scripts/fuzz/seeds.txt: `TARGET GLOB` lines, the globs expanded as run.sh's shell does.
private let seeds: [(target: String, file: String)] = {
    let text = (try? String(contentsOf: root.appendingPathComponent("scripts/fuzz/seeds.txt"), encoding: .utf8)) ?? ""
    var out: [(String, String)] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let fields = line.split(separator: " ")
        guard fields.count == 2 else { continue }
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(root.appendingPathComponent(String(fields[1])).path, 0, nil, &g) == 0 else { continue }
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append((String(fields[0]), String(cString: p))) }
        }
    }
    return out
}()

/// Inputs a fuzzer found that once crashed a reader, by target: Fixtures/TARGET/NAME.
private let findings: [(target: String, file: String)] = {
    let dir = root.appendingPathComponent("Tests/FuzzingTests/Fixtures")
    var out: [(String, String)] = []
    for target in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
        let sub = dir.appendingPathComponent(target)
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: sub.path)) ?? []).sorted() where name != "README.md" {
            out.append((target, sub.appendingPathComponent(name).path))
        }
    }
    return out
}()

private func outcome(_ target: String, _ file: String) throws -> FuzzTarget.Outcome {
    let t = try #require(FuzzTarget(rawValue: target), "no fuzz target '\(target)'")
    let data = try #require(FileManager.default.contents(atPath: file), "cannot read \(file)")
    return t.run(Array(data))
}

/// A rejection as every reader reports one: `fuzz-input[:line]: error: message` (the conformance target's input is a
/// temporary file of that name).
private func isCleanRejection(_ message: String) -> Bool {
    message.split(separator: ":").first?.hasSuffix("fuzz-input") == true && message.contains(": error: ")
}

@Test("every fuzz target has seeds, and run.sh's list of targets is FuzzTarget's")
func everyTargetIsSeeded() {
    let seeded = Set(seeds.map(\.target))
    #expect(seeded == Set(FuzzTarget.allCases.map(\.rawValue)))
    for t in FuzzTarget.allCases { #expect(seeds.contains { $0.target == t.rawValue }, "no seed file for \(t.rawValue)") }
}

@Test("a seed is read or rejected cleanly", arguments: seeds.map { "\($0.target) \($0.file)" })
func seedIsHandled(_ entry: String) throws {
    let (target, file) = (String(entry.prefix { $0 != " " }), String(entry.drop { $0 != " " }.dropFirst()))
    if case .rejected(let message) = try outcome(target, file) {
        #expect(isCleanRejection(message), "\(file): \(message)")
    }
}

@Test("each target reads at least one of its shipped seeds (it is wired to the right reader)", arguments: FuzzTarget.allCases)
func targetAcceptsASeed(_ target: FuzzTarget) throws {
    let files = seeds.filter { $0.target == target.rawValue }.map(\.file)
    var rejections: [String] = []
    for f in files {
        if case .rejected(let m) = try outcome(target.rawValue, f) { rejections.append("\(f): \(m)") } else { return }
    }
    Issue.record("\(target.rawValue) rejected all of its \(files.count) seeds:\n\(rejections.joined(separator: "\n"))")
}

@Test("a target rejects what is not its format", arguments: FuzzTarget.allCases)
func targetRejectsGarbage(_ target: FuzzTarget) {
    guard case .rejected(let message) = target.run(Array("\u{1}not \u{2} any format".utf8)) else {
        Issue.record("\(target.rawValue) accepted garbage")
        return
    }
    #expect(isCleanRejection(message), "\(message)")
}

@Test("a crash reproducer is read to a result or a clean error", arguments: findings.map { "\($0.target) \($0.file)" })
func findingIsHandled(_ entry: String) throws {
    let (target, file) = (String(entry.prefix { $0 != " " }), String(entry.drop { $0 != " " }.dropFirst()))
    // A trap ends the test process: reaching the next line is the test. Some readers (lspci) tolerate what they
    // cannot read and warn; the others must refuse their reproducer with a `file:line: error:`.
    switch try outcome(target, file) {
    case .accepted: #expect(target == "lspci", "\(file): accepted; this reproducer is bad input")
    case .rejected(let message): #expect(isCleanRejection(message), "\(file): \(message)")
    }
}
