// The topology tree as an SVG drawing: root complexes at the top, endpoints at the bottom, each link coloured
// by the highest utilization either direction reached, and the ports where P2P traffic was blocked or
// redirected marked. A tidy layered layout: leaves left to right in BDF order, parents centred over children.
import Foundation
import Sim

public struct TopologyDrawing: Sendable {
    public struct Node: Sendable {
        public var label: String
        public var detail: String
        public var x: Double
        public var y: Double
        /// Parent node index (nil for root complexes).
        public var parent: Int?
        /// Utilization of the link to the parent (0...1), nil when no traffic crossed it.
        public var linkUtilization: Double?
        public var linkText: String
        /// `blocked` or `redirected` when a finding names this node's port.
        public var mark: String?
    }
    public var nodes: [Node]
    /// Shared resources that are not links of the tree (socket links, root-complex caps, page walkers), drawn as a
    /// row of coloured boxes below it with their peak utilization.
    public var shared: [(name: String, utilization: Double)] = []
    public var width: Double
    public var height: Double

    static let columnWidth = 118.0
    static let rowHeight = 92.0

    init(fabric: Fabric, links: [RunReport.Link], findings: [RunReport.Finding]) {
        let e = fabric.enumeration
        let t = fabric.topology
        var utilization: [String: Double] = [:]
        for l in links where l.kind == "link" { utilization[l.function] = max(utilization[l.function] ?? 0, l.utilization) }
        shared = links.filter { $0.kind == "shared" && $0.utilization > 0.0005 }.map { ($0.name, $0.utilization) }
        var marks: [String: String] = [:]
        for f in findings {
            let bdf = String(f.port.split(separator: " ").first ?? "")
            if f.kind == "redirected" { if marks[bdf] == nil { marks[bdf] = "redirected" } } else { marks[bdf] = "blocked" }
            if f.port.hasPrefix("root complex ") { marks[f.port] = "blocked" }
        }
        // Children per function (functions below a bridge), per root complex the root-bus functions.
        var children: [[Int]] = Array(repeating: [], count: e.functions.count)
        var roots: [[Int]] = Array(repeating: [], count: t.rootComplexes.count)
        for (i, f) in e.functions.enumerated() where f.physicalFunction == nil {
            if let u = f.upstreamBridge { children[u].append(i) } else if f.rootComplex < roots.count { roots[f.rootComplex].append(i) }
        }
        for i in children.indices { children[i].sort { e.functions[$0].bdf.requesterID < e.functions[$1].bdf.requesterID } }
        var nodes: [Node] = []
        var nextLeaf = 0.0
        var maxDepth = 0
        func place(_ f: Int, parent: Int, depth: Int) -> Double {
            maxDepth = max(maxDepth, depth)
            let fn = e.functions[f]
            let index = nodes.count
            let bdf = fn.bdf.description
            let link = e.links[f].map { "Gen\($0.generation.rawValue) x\($0.width)" } ?? ""
            let detail = "\(bdf.dropFirst(5))" + (link.isEmpty ? "" : " · " + link)
            nodes.append(Node(label: fn.name, detail: detail, x: 0, y: Double(depth) * Self.rowHeight + 40, parent: parent,
                              linkUtilization: utilization[bdf], linkText: link, mark: marks[bdf]))
            var xs: [Double] = []
            for c in children[f] { xs.append(place(c, parent: index, depth: depth + 1)) }
            let x: Double
            if xs.isEmpty {
                x = nextLeaf * Self.columnWidth + Self.columnWidth / 2
                nextLeaf += 1
            } else {
                x = (xs.first! + xs.last!) / 2
            }
            nodes[index].x = x
            return x
        }
        for (r, rc) in t.rootComplexes.enumerated() {
            let index = nodes.count
            nodes.append(Node(label: rc.name, detail: "socket \(rc.socket)" + (rc.hostBridgeID.map { " · \($0)" } ?? ""), x: 0, y: 40,
                              parent: nil, linkUtilization: nil, linkText: "", mark: marks["root complex \(rc.name)"]))
            var xs: [Double] = []
            for f in roots[r] { xs.append(place(f, parent: index, depth: 1)) }
            if xs.isEmpty {
                nodes[index].x = nextLeaf * Self.columnWidth + Self.columnWidth / 2
                nextLeaf += 1
            } else {
                nodes[index].x = (xs.first! + xs.last!) / 2
            }
        }
        self.nodes = nodes
        width = max(nextLeaf, 1) * Self.columnWidth
        height = Double(maxDepth + 1) * Self.rowHeight + 40
    }

    /// Colour of a link by utilization: grey when idle, then green -> yellow -> red.
    static func colour(_ u: Double?) -> String {
        guard let u, u > 0.0005 else { return "#c8c8c8" }
        let stops: [(Double, (Double, Double, Double))] = [(0, (46, 160, 67)), (0.5, (230, 190, 30)), (1, (214, 40, 40))]
        let v = min(1, max(0, u))
        let (a, b) = v <= 0.5 ? (stops[0], stops[1]) : (stops[1], stops[2])
        let k = (v - a.0) / (b.0 - a.0)
        func mix(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * k).rounded()) }
        return "#" + [mix(a.1.0, b.1.0), mix(a.1.1, b.1.1), mix(a.1.2, b.1.2)].map { hex($0, 2) }.joined()
    }

    /// The SVG element.
    public var svg: String {
        // Shared resources: boxes of 180 px, as many per row as fit, below the tree.
        let perRow = max(1, Int((width - 8) / 184))
        let sharedRows = (shared.count + perRow - 1) / perRow
        let height = self.height + (shared.isEmpty ? 0 : 20 + 26 * Double(sharedRows))
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"topology\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\" aria-label=\"topology tree\">\n"
        for n in nodes {
            guard let p = n.parent else { continue }
            let parent = nodes[p]
            let w = n.linkUtilization.map { 2 + 6 * min(1, $0) } ?? 2
            let title = n.linkUtilization.map { "\(n.linkText): \(String(format: "%.1f", $0 * 100)) % utilized" } ?? "\(n.linkText) idle"
            s += "<line x1=\"\(fmt(parent.x))\" y1=\"\(fmt(parent.y + 14))\" x2=\"\(fmt(n.x))\" y2=\"\(fmt(n.y - 14))\" stroke=\"\(Self.colour(n.linkUtilization))\" stroke-width=\"\(fmt(w))\"><title>\(escapeXML(n.label + " " + title))</title></line>\n"
        }
        for n in nodes {
            let stroke = n.mark == "blocked" ? "#d62828" : n.mark == "redirected" ? "#e08a00" : "#555555"
            let strokeWidth = n.mark == nil ? "1" : "3"
            s += "<g class=\"node\(n.mark.map { " " + $0 } ?? "")\"><rect x=\"\(fmt(n.x - 54))\" y=\"\(fmt(n.y - 14))\" width=\"108\" height=\"30\" rx=\"4\" fill=\"#ffffff\" stroke=\"\(stroke)\" stroke-width=\"\(strokeWidth)\"/>"
            s += "<text x=\"\(fmt(n.x))\" y=\"\(fmt(n.y - 1))\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"bold\">\(escapeXML(String(n.label.prefix(18))))</text>"
            s += "<text x=\"\(fmt(n.x))\" y=\"\(fmt(n.y + 11))\" text-anchor=\"middle\" font-size=\"8.5\" fill=\"#444444\">\(escapeXML(String(n.detail.prefix(26))))</text>"
            if let m = n.mark {
                s += "<text x=\"\(fmt(n.x + 50))\" y=\"\(fmt(n.y - 16))\" text-anchor=\"end\" font-size=\"10\" font-weight=\"bold\" fill=\"\(stroke)\">\(m == "blocked" ? "✖ blocked" : "↻ ACS redirect")</text>"
            }
            s += "</g>\n"
        }
        if !shared.isEmpty {
            let top = self.height + 14
            s += "<text x=\"6\" y=\"\(fmt(top))\" font-size=\"10\" font-weight=\"bold\">Shared resources (peak utilization)</text>\n"
            for (i, r) in shared.enumerated() {
                let x = 6 + Double(i % perRow) * 184, y = top + 8 + Double(i / perRow) * 26
                s += "<g class=\"shared\"><rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"180\" height=\"20\" rx=\"3\" fill=\"#ffffff\" stroke=\"\(Self.colour(r.utilization))\" stroke-width=\"\(fmt(2 + 4 * min(1, r.utilization)))\"/>"
                s += "<text x=\"\(fmt(x + 6))\" y=\"\(fmt(y + 14))\" font-size=\"9\">\(escapeXML(String(r.name.prefix(26)))) \(String(format: "%.0f", r.utilization * 100)) %</text><title>\(escapeXML(r.name)): \(String(format: "%.1f", r.utilization * 100)) % utilized</title></g>\n"
            }
        }
        return s + "</svg>"
    }
}

func fmt(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)
}

func escapeXML(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
