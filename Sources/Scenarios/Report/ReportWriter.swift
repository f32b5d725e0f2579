// Writes a report folder all at once: the files go to a hidden sibling folder first, which is renamed into
// place only when every file is written, so an error never leaves a half-written report.
import Foundation
import Sim

public enum ReportWriter {
    /// The files of a report folder, in the order they are written.
    public static func files(_ report: RunReport) -> [(name: String, contents: String)] {
        [("report.json", report.json.serialized() + "\n"), ("report.md", report.markdown), ("report.html", report.html)]
    }

    /// Writes `files` into `directory` (replacing a previous report there).
    public static func write(_ files: [(name: String, contents: String)], to directory: String) throws(ScenarioError) {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory)
        let parent = target.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            if fm.fileExists(atPath: staging.path) { try fm.removeItem(at: staging) }
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
            for f in files {
                if let reason = AtomicFileSet.writeWhole(Data(f.contents.utf8), to: staging.appendingPathComponent(f.name).path) {
                    throw ScenarioError("cannot write the report to \(directory): \(f.name): \(reason)")
                }
            }
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: target.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw ScenarioError("\(directory) exists and is not a folder") }
                // Only a folder that holds a previous report is replaced.
                let contents = Set(try fm.contentsOfDirectory(atPath: target.path))
                guard contents.isSubset(of: Set(files.map(\.name))) else {
                    throw ScenarioError("\(directory) holds other files than a report; choose another --out")
                }
                // The previous report steps aside, the new one takes its name, and only then is the old removed:
                // a failure in between puts the old one back, so the folder is always one whole report.
                let aside = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
                if fm.fileExists(atPath: aside.path) { try fm.removeItem(at: aside) }
                guard rename(target.path, aside.path) == 0 else {
                    throw ScenarioError("cannot write the report to \(directory): \(String(cString: strerror(errno)))")
                }
                guard rename(staging.path, target.path) == 0 else {
                    let reason = String(cString: strerror(errno))
                    _ = rename(aside.path, target.path)
                    throw ScenarioError("cannot write the report to \(directory): \(reason)")
                }
                try? fm.removeItem(at: aside)
                return
            }
            try fm.moveItem(at: staging, to: target)
        } catch let e as ScenarioError {
            try? fm.removeItem(at: staging)
            throw e
        } catch {
            try? fm.removeItem(at: staging)
            throw ScenarioError("cannot write the report to \(directory): \(error.localizedDescription)")
        }
    }
}
