// The topology tree as an SVG drawing: root complexes at the top, endpoints at the bottom, each link coloured
// by the highest utilization either direction reached, and the ports where P2P traffic was blocked or
// redirected marked. A tidy layered layout: leaves left to right in BDF order, parents centred over children.
// One block per socket (its root complexes' trees, wrapped into rows no wider than the page), blocks side by side
// when they fit in `maxWidth`, stacked otherwise, with the socket links drawn between the blocks' headers. A single
// root complex wider than the page scales the drawing down (viewBox) rather than leave it clipped.
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
        /// Vendor and device name from pci.ids (the tooltip), nil when unnamed.
        public var deviceName: String? = nil
    }
    /// A socket's block: its header box sits at (x, y), the block is `width` by `height`.
    public struct SocketBlock: Sendable {
        public var socket: Int
        public var title: String
        public var x: Double
        public var y: Double
        public var width: Double
        public var height: Double
    }
    /// A socket link drawn between two socket headers, with its peak utilization over both directions.
    public struct SocketLinkLine: Sendable {
        public var a: Int
        public var b: Int
        public var text: String
        public var utilization: Double?
    }
    public var nodes: [Node]
    public var sockets: [SocketBlock] = []
    public var socketLinks: [SocketLinkLine] = []
    /// `side by side` or `stacked`.
    public var arrangement = "side by side"
    /// Shared resources that are not links of the tree (socket links, root-complex caps, page walkers), drawn as a
    /// row of coloured boxes below it with their peak utilization.
    public var shared: [(name: String, utilization: Double)] = []
    /// The drawing's own size (its viewBox) and the size it is shown at (never wider than `maxWidth`).
    public var width: Double
    public var height: Double
    public var shownWidth: Double

    static let columnWidth = 118.0
    static let rowHeight = 92.0
    static let headerHeight = 34.0
    static let gap = 36.0
    /// The widest drawing shown unscaled: a 1,400 px window less the page's margins.
    public static let maxWidth = 1320.0

    init(fabric: Fabric, links: [RunReport.Link], findings: [RunReport.Finding], names: PCINames? = nil) {
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

        // One root complex's tree at the origin: nodes with parents relative to the unit, its width and height.
        func unit(_ r: Int, _ top: [Int], continued: Bool) -> (nodes: [Node], width: Double, height: Double) {
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
                let id = fn.device.map { t.devices[$0].id }
                nodes.append(Node(label: fn.name, detail: detail, x: 0, y: Double(depth) * Self.rowHeight + 26, parent: parent,
                                  linkUtilization: utilization[bdf], linkText: link, mark: marks[bdf],
                                  deviceName: id.flatMap { names?.name(vendor: $0.vendor, device: $0.device) }))
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
            let rc = t.rootComplexes[r]
            nodes.append(Node(label: rc.name + (continued ? " (cont.)" : ""), detail: "socket \(rc.socket)" + (rc.hostBridgeID.map { " · \($0)" } ?? ""), x: 0, y: 26,
                              parent: nil, linkUtilization: nil, linkText: "", mark: marks["root complex \(rc.name)"],
                              deviceName: rc.hostBridgeID.flatMap { names?.name(vendor: $0.vendor, device: $0.device) }))
            var xs: [Double] = []
            for f in top { xs.append(place(f, parent: 0, depth: 1)) }
            if xs.isEmpty { nextLeaf = 1; nodes[0].x = Self.columnWidth / 2 } else { nodes[0].x = (xs.first! + xs.last!) / 2 }
            return (nodes, max(nextLeaf, 1) * Self.columnWidth, Double(maxDepth) * Self.rowHeight + 26 + 16 + 14)
        }

        func leaves(_ f: Int) -> Int { children[f].isEmpty ? 1 : children[f].reduce(0) { $0 + leaves($1) } }
        // Per socket: its root complexes' trees packed into rows no wider than the page.
        let socketIDs = Array(Set(t.rootComplexes.map(\.socket))).sorted()
        var blocks: [(socket: Int, placed: [(nodes: [Node], dx: Double, dy: Double)], width: Double, height: Double)] = []
        for s in socketIDs {
            var placed: [(nodes: [Node], dx: Double, dy: Double)] = []
            var x = 0.0, y = Self.headerHeight, rowHeight = 0.0, width = 0.0
            // A root complex wider than the page wraps: its root-bus subtrees in chunks that fit, each chunk under
            // the root complex's box (`rc0 (cont.)` after the first).
            var units: [(Int, [Int], Bool)] = []
            for r in t.rootComplexes.indices where t.rootComplexes[r].socket == s {
                var chunk: [Int] = [], chunkLeaves = 0
                for f in roots[r] {
                    let n = leaves(f)
                    if !chunk.isEmpty, Double(chunkLeaves + n) * Self.columnWidth > Self.maxWidth - 28 {
                        units.append((r, chunk, units.contains { $0.0 == r }))
                        chunk = []
                        chunkLeaves = 0
                    }
                    chunk.append(f)
                    chunkLeaves += n
                }
                units.append((r, chunk, units.contains { $0.0 == r }))
            }
            for (r, top, continued) in units {
                let u = unit(r, top, continued: continued)
                if x > 0, x + u.width > Self.maxWidth - 28 {
                    y += rowHeight
                    x = 0
                    rowHeight = 0
                }
                placed.append((u.nodes, x, y))
                x += u.width
                width = max(width, x)
                rowHeight = max(rowHeight, u.height)
            }
            blocks.append((s, placed, max(width, 250), y + rowHeight))
        }
        // Side by side when every block fits in the page's width, else stacked with a gutter for the socket links.
        let sideBySide = blocks.map(\.width).reduce(0, +) + Self.gap * Double(max(blocks.count - 1, 0)) <= Self.maxWidth
        arrangement = sideBySide ? "side by side" : "stacked"
        var nodes: [Node] = []
        var ox = sideBySide ? 0.0 : 28.0, oy = 0.0
        var totalWidth = 0.0, totalHeight = 0.0
        for b in blocks {
            let socket = t.sockets.first { $0.id == b.socket }
            let title = "socket \(b.socket)" + (socket.map { " · \($0.cpuVendor.rawValue) family 0x\(hex($0.cpuFamily, 2))" } ?? "")
            sockets.append(SocketBlock(socket: b.socket, title: title, x: sideBySide ? ox : 4, y: oy, width: sideBySide ? b.width : b.width + ox - 4,
                                      height: b.height))
            for p in b.placed {
                let base = nodes.count
                for var n in p.nodes {
                    n.x += ox + p.dx
                    n.y += oy + p.dy
                    n.parent = n.parent.map { $0 + base }
                    nodes.append(n)
                }
            }
            totalWidth = max(totalWidth, ox + b.width)
            totalHeight = max(totalHeight, oy + b.height)
            if sideBySide { ox += b.width + Self.gap } else { oy += b.height + Self.gap }
        }
        self.nodes = nodes
        for l in t.socketLinks {
            let names = ["socket\(l.a) -> socket\(l.b)", "socket\(l.b) -> socket\(l.a)", "socket\(min(l.a, l.b)) <-> socket\(max(l.a, l.b))"]
            let u = links.filter { $0.kind == "shared" && names.contains($0.name) }.map(\.utilization).max()
            let rate = t.socketLinkBandwidth(from: l.a, to: l.b).map { String(format: " · %.0f GB/s", $0.rate.gigabytesPerSecond) } ?? ""
            socketLinks.append(SocketLinkLine(a: l.a, b: l.b, text: l.kind.rawValue.uppercased() + rate + (u.map { String(format: " · %.0f %%", $0 * 100) } ?? ""),
                                              utilization: u))
        }
        width = max(totalWidth, 250)
        height = totalHeight + 8
        shownWidth = min(width, Self.maxWidth)
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
        let scale = shownWidth / width
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"topology\" width=\"\(fmt(shownWidth))\" height=\"\(fmt(height * scale))\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\" aria-label=\"topology tree\">\n"
        // Socket blocks: a light frame and a header; socket links between the headers.
        let header = { (b: SocketBlock) -> (x: Double, y: Double, w: Double) in (b.x + 4, b.y + 4, min(b.width - 8, 240)) }
        for (k, l) in socketLinks.enumerated() {
            guard let a = sockets.first(where: { $0.socket == l.a }), let b = sockets.first(where: { $0.socket == l.b }) else { continue }
            let ha = header(a), hb = header(b)
            let colour = Self.colour(l.utilization), w = fmt(2 + 6 * min(1, l.utilization ?? 0))
            let title = "<title>socket \(l.a) — socket \(l.b): \(escapeXML(l.text))</title>"
            if arrangement == "side by side" {
                let y = ha.y + 12 + Double(k % 3) * 4
                let (x1, x2) = a.x < b.x ? (ha.x + ha.w, hb.x) : (hb.x + hb.w, ha.x)
                s += "<g class=\"socket-link\"><line x1=\"\(fmt(x1))\" y1=\"\(fmt(y))\" x2=\"\(fmt(x2))\" y2=\"\(fmt(y))\" stroke=\"\(colour)\" stroke-width=\"\(w)\"/>"
                s += "<text x=\"\(fmt((x1 + x2) / 2))\" y=\"\(fmt(y - 6))\" text-anchor=\"middle\" font-size=\"10\">\(escapeXML(l.text))</text>\(title)</g>\n"
            } else {
                let x = 12 + Double(k % 3) * 5
                s += "<g class=\"socket-link\"><line x1=\"\(fmt(x))\" y1=\"\(fmt(ha.y + 12))\" x2=\"\(fmt(x))\" y2=\"\(fmt(hb.y + 12))\" stroke=\"\(colour)\" stroke-width=\"\(w)\"/>"
                let upper = a.y < b.y ? ha : hb
                s += "<text x=\"\(fmt(upper.x + upper.w + 12))\" y=\"\(fmt(upper.y + 16 + Double(k) * 12))\" font-size=\"10\">↕ socket \(l.a) — socket \(l.b): \(escapeXML(l.text))</text>\(title)</g>\n"
            }
        }
        for b in sockets {
            let h = header(b)
            s += "<g class=\"socket\"><rect x=\"\(fmt(b.x))\" y=\"\(fmt(b.y))\" width=\"\(fmt(b.width))\" height=\"\(fmt(b.height))\" rx=\"6\" fill=\"none\" stroke=\"#d0d0d8\" stroke-dasharray=\"4 3\"/>"
            s += "<rect x=\"\(fmt(h.x))\" y=\"\(fmt(h.y))\" width=\"\(fmt(h.w))\" height=\"24\" rx=\"4\" fill=\"#eef0f6\" stroke=\"#555555\"/>"
            s += "<text x=\"\(fmt(h.x + 8))\" y=\"\(fmt(h.y + 16))\" font-size=\"11\" font-weight=\"bold\">\(escapeXML(b.title))</text></g>\n"
        }
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
            s += "<g class=\"node\(n.mark.map { " " + $0 } ?? "")\">\(n.deviceName.map { "<title>\(escapeXML(n.label + ": " + $0))</title>" } ?? "")<rect x=\"\(fmt(n.x - 54))\" y=\"\(fmt(n.y - 14))\" width=\"108\" height=\"30\" rx=\"4\" fill=\"#ffffff\" stroke=\"\(stroke)\" stroke-width=\"\(strokeWidth)\"/>"
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
