// Writing several files as one result set (issue #19): every file staged first, then renamed into place, then a
// manifest written last, so a reader that finds the manifest finds the whole set it describes.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A set of files in one folder (beside others, such as a sweep's journal), written as a whole.
///
/// 1. Every target must be a regular file or absent (checked before anything is written).
/// 2. Every file is written to a hidden temporary file in the folder; a failure there (out of disk included)
///    removes the temporaries and leaves the previous set, and its manifest, exactly as they were.
/// 3. The previous manifest is removed, each temporary is renamed over its target (rename(2) needs no space), and
///    the manifest (each file's name, size and FNV-1a digest) is written last, atomically.
///
/// So the manifest is present only when the set it lists is complete and current: a reader checks it (see
/// ``verify(directory:manifest:)``) instead of guessing from which files exist.
public enum AtomicFileSet {
    /// Writes `files` into `directory` (which must exist) and then `manifest`; nil on success, else the reason.
    public static func write(_ files: [(name: String, contents: String)], to directory: String, manifest: String) -> String? {
        let fm = FileManager.default
        let targets = files.map { directory + "/" + $0.name }
        for path in targets + [directory + "/" + manifest] {
            var st = stat()
            if lstat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
                return "\(path) exists and is not a regular file"
            }
        }
        var staged: [String] = []
        func discard() { for t in staged { try? fm.removeItem(atPath: t) } }
        for (f, target) in zip(files, targets) {
            let tmp = directory + "/.\(f.name).tmp-\(getpid())"
            staged.append(tmp)
            if let reason = writeWhole(Data(f.contents.utf8), to: tmp) {
                discard()
                return "\(target): \(reason)"
            }
        }
        let manifestPath = directory + "/" + manifest
        if unlink(manifestPath) != 0, errno != ENOENT {
            let reason = String(cString: strerror(errno))
            discard()
            return "\(manifestPath): cannot be removed: \(reason)"
        }
        for (tmp, target) in zip(staged, targets) where rename(tmp, target) != 0 {
            let reason = String(cString: strerror(errno))
            discard()
            return "\(target): \(reason) (the set is incomplete: no \(manifest))"
        }
        let lines = files.map { "\($0.name)\t\($0.contents.utf8.count)\t\(digest($0.contents))\n" }.joined()
        if let reason = AtomicFile.write("# files of this result set, written last: name, bytes, FNV-1a 64\n" + lines, to: manifestPath) {
            return "\(manifestPath): \(reason) (the set is incomplete)"
        }
        return nil
    }

    /// The names of the files the manifest lists when each is there with its size and digest; nil when the
    /// manifest is missing or any file differs from it (an incomplete or partly overwritten set).
    public static func verify(directory: String, manifest: String) -> [String]? {
        guard let text = try? String(contentsOfFile: directory + "/" + manifest, encoding: .utf8) else { return nil }
        var names: [String] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t")
            guard f.count == 3, let data = FileManager.default.contents(atPath: directory + "/" + f[0]),
                  String(data.count) == f[1], digest(String(decoding: data, as: UTF8.self)) == f[2] else { return nil }
            names.append(String(f[0]))
        }
        return names
    }

    /// Writes and flushes a new file, reporting short writes and ENOSPC (Foundation's Data.write can lose them).
    public static func writeWhole(_ data: Data, to path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        var failure: String?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        return failure
    }

    static func digest(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return hex(h, 16)
    }
}

#if canImport(Glibc)
private let posixWrite = Glibc.write
#elseif canImport(Musl)
private let posixWrite = Musl.write
#elseif canImport(Darwin)
private let posixWrite = Darwin.write
#endif
