// simfuzz: the readers' fuzz targets, as a libFuzzer binary (built with -D FUZZING by scripts/fuzz/build.sh) or as a
// replayer of saved inputs (a normal build).
import Foundation
import Fuzzing

#if FUZZING
/// The target this process fuzzes: `SIMFUZZ_TARGET`, else the program's name `fuzz-TARGET` (build.sh links one per target).
nonisolated(unsafe) private var target: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    let program = argv.pointee[0].map { String(cString: $0) } ?? ""
    let base = program.split(separator: "/").last.map(String.init) ?? ""
    let name = ProcessInfo.processInfo.environment["SIMFUZZ_TARGET"] ?? (base.hasPrefix("fuzz-") ? String(base.dropFirst(5)) : "")
    guard let t = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        printError("simfuzz: no target '\(name)': set SIMFUZZ_TARGET or run as fuzz-TARGET (\(names))")
        exit(2)
    }
    target = t
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = target!.run(bytes)
    return 0
}
#else
/// `simfuzz TARGET FILE|DIR...`: replays inputs through a target, one line per input; exit 1 when one was
/// not handled (a crash ends the process, as under the fuzzer).
@main
struct SimFuzz {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count > 1 else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            printError("usage: simfuzz \(names) FILE|DIR...")
            exit(64)
        }
        var files: [String] = []
        for path in args.dropFirst() {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var failed = false
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("\(file): error: cannot read")
                failed = true
                continue
            }
            switch target.run(Array(data)) {
            case .accepted: print("\(file): accepted")
            case .rejected(let message): print("\(file): rejected: \(message.split(separator: "\n").first ?? "")")
            }
        }
        exit(failed ? 1 : 0)
    }
}
#endif

private func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
