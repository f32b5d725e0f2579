// "Did you mean": the known names closest to a mistyped one, by Levenshtein distance.

public enum DidYouMean {
    /// Levenshtein edit distance (insertions, deletions, substitutions, each 1) between two strings, by characters.
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// The nearest names to `name` within reach (distance at most a third of its length, and at least 2): those at
    /// the smallest distance found, in the order given, at most `limit`. Case is ignored.
    public static func candidates(_ name: String, among names: [String], limit: Int = 3) -> [String] {
        let reach = Swift.max(2, name.count / 3)
        let lowered = name.lowercased()
        let scored = names.map { (distance(lowered, $0.lowercased()), $0) }.filter { $0.0 <= reach && $0.1 != name }
        guard let best = scored.map(\.0).min() else { return [] }
        return Array(scored.filter { $0.0 == best }.map(\.1).prefix(limit))
    }

    /// `; did you mean gpu0?` (or `gpu0 or gpu1`), or "" when nothing is close.
    public static func hint(_ name: String, among names: [String]) -> String {
        let c = candidates(name, among: names)
        guard !c.isEmpty else { return "" }
        return "; did you mean " + (c.count == 1 ? c[0] : c.dropLast().joined(separator: ", ") + " or " + c.last!) + "?"
    }
}

extension Enumeration {
    /// `; did you mean ...?` for a name that `lookup` did not find, among the functions' names.
    public func didYouMean(_ name: String) -> String {
        DidYouMean.hint(name, among: functions.map(\.name))
    }
}
