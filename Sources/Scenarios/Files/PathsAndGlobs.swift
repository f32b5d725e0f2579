// Small text helpers every suite-like file reader shares (regression suites, fidelity suites): relative paths
// resolved against the file's folder, and `*` globs for --filter.

/// `a/./b/../c` -> `a/c`, keeping a relative path relative.
func normalizedPath(_ path: String) -> String {
    var parts: [Substring] = []
    for c in path.split(separator: "/", omittingEmptySubsequences: false) {
        if c == "." || (c.isEmpty && !parts.isEmpty) { continue }
        if c == "..", let last = parts.last, last != "..", !last.isEmpty { parts.removeLast(); continue }
        parts.append(c)
    }
    let joined = parts.joined(separator: "/")
    return joined.isEmpty ? "." : joined
}

/// `*` matches any run of characters; everything else literally.
func globMatches(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern), t = Array(text)
    var pi = 0, ti = 0, star = -1, mark = 0
    while ti < t.count {
        if pi < p.count, p[pi] != "*", p[pi] == t[ti] { pi += 1; ti += 1 }
        else if pi < p.count, p[pi] == "*" { star = pi; mark = ti; pi += 1 }
        else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
        else { return false }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}
