// Replacing a file atomically: write a temporary file beside the target, then rename(2) it over the target. POSIX
// replaces the name in one step, so a reader (or a run killed half-way) sees the old file or the new one, never half
// of one and never none. (Foundation's FileManager.replaceItemAt on Linux removes the target first and can then
// fail, leaving neither: do not use it for this.)
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public enum AtomicFile {
    /// Writes `data` to `path` atomically; on failure the target is as it was and the temporary file is removed.
    /// Returns nil on success, else the reason.
    @discardableResult
    public static func write(_ data: Data, to path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: tmp)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            return error.localizedDescription
        }
        guard rename(tmp.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            return reason
        }
        return nil
    }

    public static func write(_ text: String, to path: String) -> String? { write(Data(text.utf8), to: path) }
}
