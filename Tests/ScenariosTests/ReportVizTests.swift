// report.html and sweep.html as users read them: heatmaps with a legend and readable text, the topo -m matrix equal
// to `simrun p2p --format topo-m`'s, a tree that fits 1,400 px per socket with the socket links, one finding per
// (pair, port, rule), device names from a pci.ids fixture (never the machine's), and nice axis ticks.
import Foundation
import Testing
import Scenarios
import Sim

let pciIDsFixture = repositoryRoot.appendingPathComponent("Tests/ScenariosTests/Fixtures/pci.ids").path

func vizReport(_ topology: String, _ scenario: String, cmdline: String? = nil, names: PCINames? = nil) throws -> (RunReport, Fabric) {
    let loaded = try LoadedTopology.load(path: topologyPath(topology))
    var semantics = SemanticsOptions()
    if let cmdline { semantics.kernel = KernelConfiguration(commandLine: cmdline, version: loaded.topology.kernel.version) }
    var runner = try WorkloadRunner(loaded, options: semantics, seed: 7, jobs: 2)
    runner.mode = .auto  // simrun run's default: the flow model where it claims the answer
    let workload = try ScenarioSource.workload(scenario, fabric: runner.fabric, options: ScenarioOptions(size: 1 << 20), device: nil)
    let report = RunReport(result: try runner.run(workload), runner: runner, topologyFile: "topologies/\(topology).xml", pciNames: names)
    return (report, runner.fabric)
}

/// The page as an element tree (the report is XHTML after its doctype line).
func parsedHTML(_ html: String) throws -> XMLElement {
    try SafeXML.parse(Array(html.dropFirst("<!DOCTYPE html>\n".count).utf8), file: "report.html")
}

func elements(_ e: XMLElement, _ name: String, where match: (XMLElement) -> Bool = { _ in true }) -> [XMLElement] {
    (e.name == name && match(e) ? [e] : []) + e.children.flatMap { elements($0, name, where: match) }
}

/// `background: #rrggbb; color: #rrggbb` of a cell's style.
func colours(_ style: String) -> (String, String)? {
    let parts = style.split(separator: ";").map { $0.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) } }
    guard let bg = parts.first(where: { $0.first == "background" })?.last, let fg = parts.first(where: { $0.first == "color" })?.last,
          bg.hasPrefix("#"), fg.hasPrefix("#") else { return nil }
    return (bg, fg)
}

@Suite("report.html and sweep.html read like the tools users know")
struct ReportVizTests {
    @Test("the p2p matrices are heatmaps: cells scaled to the value, a legend from the lowest to the highest, readable text")
    func heatmaps() throws {
        let (r, _) = try vizReport("gpu8-gen4-switches", "p2p-matrix")
        let root = try parsedHTML(r.html)
        let heat = elements(root, "table") { ($0["class"] ?? "").hasPrefix("heat") }
        #expect(heat.count == 3)
        #expect(heat.filter { $0["class"]!.contains("latency") }.count == 1)
        let matrix = try #require(r.tables.first { $0.heat == "bandwidth" })
        let values = matrix.rows.flatMap { $0.dropFirst() }.compactMap(Double.init)
        let lo = try #require(values.min()), hi = try #require(values.max())
        #expect(hi > lo)  // a two-socket machine: same-switch pairs are faster than cross-socket ones
        // The legend's first and last swatches are the matrix's lowest and highest values.
        let scales = elements(root, "div") { $0["class"] == "scale" && $0.children.first?.text.hasPrefix("Scale (") == true }
        #expect(scales.count == 3)
        let swatches = scales[0].children.filter { $0["class"] == "sw" }.map(\.text)
        #expect(swatches.count == 6)  // five steps of the scale and n/a
        #expect(swatches.first == String(format: "%.2f", lo) && swatches.dropLast().last == String(format: "%.2f", hi))
        #expect(r.html.contains("✖ blocked or refused"))
        // Every coloured cell: a darker background for a higher value, text contrast at least 4.5:1 (WCAG AA).
        var byValue: [(Double, String)] = []
        for td in elements(heat[0], "td") {
            guard let style = td["style"], let (bg, fg) = colours(style) else { continue }
            #expect(RunReport.contrast(bg, fg) >= 4.5, "\(td.text): \(bg) on \(fg)")
            if let v = Double(td.text) { byValue.append((v, bg)) }
        }
        #expect(byValue.count == values.count)
        let lightest = byValue.first { $0.0 == lo }!.1, darkest = byValue.first { $0.0 == hi }!.1
        #expect(RunReport.contrast(lightest, "#ffffff") < RunReport.contrast(darkest, "#ffffff"))
    }

    @Test("heat colours keep 4.5:1 text contrast over the whole scale, both palettes")
    func heatContrast() {
        for heat in ["bandwidth", "latency"] {
            for k in 0...20 {
                let (bg, fg) = RunReport.heatColours(Double(k) / 20, heat: heat)
                #expect(RunReport.contrast(bg, fg) >= 4.5, "\(heat) \(k): \(bg) \(fg)")
            }
            #expect(RunReport.heatColours(0, heat: heat).background != RunReport.heatColours(1, heat: heat).background)
        }
        #expect(abs(RunReport.contrast("#000000", "#ffffff") - 21) < 1e-9)
    }

    @Test("refused pairs are marked in the heatmap, not coloured as a value")
    func blockedCells() throws {
        let (r, _) = try vizReport("xeon-not-whitelisted", "p2p-matrix")
        let matrix = try #require(r.tables.first { $0.heat == "bandwidth" })
        let refused = matrix.rows.flatMap { $0.dropFirst() }.filter { $0.hasPrefix("X ") }.count
        #expect(refused > 0)
        let root = try parsedHTML(r.html)
        let table = try #require(elements(root, "table") { $0["class"] == "heat bandwidth" }.first)
        let blocked = elements(table, "td") { $0["class"] == "blocked" }
        #expect(blocked.count == refused)
        #expect(blocked.allSatisfy { $0.text.hasPrefix("✖ ") && $0["style"] == nil })
    }

    @Test("the HTML's topo -m matrix has the cells simrun p2p --format topo-m prints")
    func topoMatrix() throws {
        let (r, fabric) = try vizReport("gpu8-gen4-switches", "p2p-matrix")
        let printed = try TopoMatrix.parse(TopoMatrix.text(fabric), file: "topo-m")
        let root = try parsedHTML(r.html)
        let table = try #require(elements(root, "table") { ($0["class"] ?? "").hasPrefix("topo") }.first)
        let rows = elements(table, "tr")
        #expect(elements(rows[0], "th").dropFirst().map(\.text) == printed.names)
        let cells = rows.dropFirst().map { elements($0, "td").map(\.text) }
        #expect(cells == printed.cells)
        #expect(printed.names.filter { $0.hasPrefix("GPU") }.count == 8)
        #expect(Set(cells.joined()).isSuperset(of: ["X", "PIX", "SYS"]))
        // nvidia-smi's legend text, word for word.
        #expect(r.html.contains("SYS = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)"))
    }

    @Test("the tree: one block per socket, no wider than the page, the socket link drawn between the blocks")
    func treeFits() throws {
        let (r, fabric) = try vizReport("gpu8-gen4-switches", "p2p-matrix")
        let tree = r.tree
        #expect(tree.sockets.map(\.socket) == [0, 1])
        #expect(tree.shownWidth <= TopologyDrawing.maxWidth)
        #expect(tree.socketLinks.count == fabric.topology.socketLinks.count && !tree.socketLinks.isEmpty)
        #expect(tree.svg.contains("class=\"socket-link\""))
        // Every device sits inside its own socket's block.
        for n in tree.nodes {
            guard let f = fabric.enumeration.lookup(n.label) else { continue }
            let socket = fabric.topology.rootComplexes[fabric.enumeration.functions[f].rootComplex].socket
            let b = try #require(tree.sockets.first { $0.socket == socket })
            #expect(n.x - 54 >= b.x && n.x + 54 <= b.x + b.width + 0.01 && n.y >= b.y && n.y <= b.y + b.height, "\(n.label)")
        }
        let root = try parsedHTML(r.html)
        let svg = try #require(elements(root, "svg") { $0["class"] == "topology" }.first)
        #expect(Double(svg["width"] ?? "") ?? .infinity <= TopologyDrawing.maxWidth)
    }

    @Test("a 32-GPU two-socket machine: root complexes wider than the page wrap into rows, drawn at full size")
    func treeWraps() throws {
        var p = GeneratorParameters()
        p.sockets = 2; p.rootPortsPerRootComplex = 4; p.gpusPerSwitch = 4; p.nicsPerSwitch = 1; p.nvmePerSwitch = 0
        let loaded = try LoadedTopology(topology: try TopologyGenerator.generate(p))
        var runner = try WorkloadRunner(loaded, seed: 7, jobs: 2)
        runner.mode = .flow
        let workload = try ScenarioSource.workload("h2d", fabric: runner.fabric, options: ScenarioOptions(size: 1 << 20), device: nil)
        let r = RunReport(result: try runner.run(workload), runner: runner, topologyFile: "gpu32.xml", pciNames: nil)
        let tree = r.tree
        #expect(tree.nodes.filter { $0.label.hasPrefix("gpu") }.count == 32)
        // 20 endpoints per root complex (2,360 px in one row) wrap into two rows of two root ports each.
        #expect(tree.width <= TopologyDrawing.maxWidth && tree.shownWidth == tree.width)
        #expect(tree.nodes.filter { $0.label.hasSuffix("(cont.)") }.count == 2)
        #expect(tree.arrangement == "stacked" && tree.sockets.count == 2)
        let (m, _) = TopoMatrix.from(runner.fabric)
        #expect(r.topoMatrix == m && m.names.count == 40)
    }

    @Test("one finding per (pair, port, rule), listing every phase it happened in")
    func findingsUnique() throws {
        for (topology, cmdline) in [("gpu8-gen4-switches", "iommu=pt"), ("xeon-not-whitelisted", nil)] {
            let (r, _) = try vizReport(topology, "p2p-matrix", cmdline: cmdline)
            #expect(!r.findings.isEmpty, "\(topology)")
            let keys = r.findings.map { [$0.kind, $0.requester, $0.target, $0.port, $0.rule].joined(separator: "|") }
            #expect(Set(keys).count == keys.count, "\(topology): duplicate findings")
            // A pair's write redirect happens in its unidirectional and its bidirectional phase: one finding, both phases.
            if cmdline != nil {
                let write = try #require(r.findings.first { $0.tlpKind == "MWr" })
                #expect(write.phases.count == 2 && write.phases.contains { $0.contains("<->") })
                let html = r.html
                #expect(html.components(separatedBy: "class=\"finding").count - 1 == r.findings.count)
            }
        }
    }

    @Test("pci.ids: vendor and device names, subsystems and the class list skipped, malformed lines counted")
    func pciIDsParser() throws {
        let names = try #require(PCINames.load(path: pciIDsFixture))
        #expect(names.source == pciIDsFixture)
        #expect(names.name(vendor: 0x10de, device: 0x20b0) == "NVIDIA Corporation GA100 [A100 SXM4 40GB]")
        #expect(names.name(vendor: 0x15b3, device: 0x101b) == "Mellanox Technologies MT28908 Family [ConnectX-6]")
        // Vendor known, device not: as lspci prints it.
        #expect(names.name(vendor: 0x10de, device: 0x1234) == "NVIDIA Corporation Device 1234")
        #expect(names.name(vendor: 0xabcd, device: 0x0001) == nil)
        // Malformed: a non-hex device id, a device with no name, a non-hex vendor and the device under it, a vendor
        // id with no space before its name, a line over 1,024 bytes. After the class list nothing is read.
        #expect(names.malformedLines == 6)
        #expect(names.vendors[0xffff] == nil && names.devices[0x144d_a824] == nil && names.devices[0x15b3_1017] == nil)
        #expect(names.vendors.count == 5 && names.devices.count == 4)
        // Garbage in, no crash: random bytes, no newline at the end, NULs.
        var g = SplitMix64(seed: 5)
        for _ in 0..<50 {
            let bytes = (0..<Int(g.next() % 400)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let p = PCINames.parse(bytes, source: "random")
            #expect(p.vendors.values.allSatisfy { !$0.isEmpty && $0.count <= PCINames.maxNameCharacters })
        }
        #expect(PCINames.parse(Array("10de  NVIDIA\n\t20b0  A100".utf8), source: "x").devices[0x10de_20b0] == "A100")
    }

    @Test("PCIESIM_PCI_IDS picks the file (none: no names), and the report says which file named the devices")
    func pciIDsInReport() throws {
        #expect(PCINames.system(environment: ["PCIESIM_PCI_IDS": pciIDsFixture])?.source == pciIDsFixture)
        #expect(PCINames.system(environment: ["PCIESIM_PCI_IDS": "none"]) == nil)
        #expect(PCINames.system(environment: ["PCIESIM_PCI_IDS": "/nonexistent/pci.ids"]) == nil)
        let names = try #require(PCINames.load(path: pciIDsFixture))
        let (named, _) = try vizReport("gpu8-gen4-switches", "p2p-matrix", names: names)
        let gpu = try #require(named.devices.first { $0.name == "gpu0" })
        #expect(gpu.id == "10de:20b0" && gpu.pciName == "NVIDIA Corporation GA100 [A100 SXM4 40GB]")
        #expect(named.html.contains("Vendor and device names from <code>\(escapedPath(pciIDsFixture))</code>"))
        #expect(named.html.contains("<td>NVIDIA Corporation GA100 [A100 SXM4 40GB]</td>"))
        #expect(named.tree.svg.contains("gpu0: NVIDIA Corporation GA100"))
        let (plain, _) = try vizReport("gpu8-gen4-switches", "p2p-matrix", names: nil)
        #expect(plain.devices.allSatisfy { $0.pciName == nil })
        #expect(plain.html.contains("No pci.ids file was found") && !plain.html.contains("NVIDIA Corporation"))
        // Same pci.ids, same bytes.
        let (again, _) = try vizReport("gpu8-gen4-switches", "p2p-matrix", names: names)
        #expect(again.html == named.html)
    }

    func escapedPath(_ p: String) -> String { p.replacingOccurrences(of: "&", with: "&amp;") }

    @Test("nice ticks: 1, 2 or 5 x 10^n, axes scaled to the data, k for thousands, no exponents")
    func niceTicks() {
        func mantissaOK(_ step: Double) -> Bool {
            let m = step / pow(10, floor(log10(step)))
            return [1, 2, 5].contains { abs(m - Double($0)) < 1e-9 }
        }
        // The issue's sweep: values between 27.9 and 28.9 get an axis of their own, not 0 to 30.
        let a = NiceScale([27.9, 28.3, 28.9])
        #expect(a.lo <= 27.9 && a.hi >= 28.9 && a.lo >= 27 && a.hi <= 29.5 && mantissaOK(a.step))
        #expect(a.ticks.count >= 3 && a.ticks.count <= 11)
        #expect(a.ticks.map(a.label) == a.ticks.map { String(format: "%.1f", $0) })
        // Costs: 108,600 to 121,400 as k, never 1.086e+05.
        let c = NiceScale([108_600, 121_400])
        #expect(mantissaOK(c.step) && c.lo <= 108_600 && c.hi >= 121_400)
        let labels = c.ticks.map(c.label)
        #expect(labels.allSatisfy { $0.hasSuffix("k") && !$0.contains("e") })
        #expect(labels.contains("110k") && labels.contains("120k"))
        // Small and mixed values, decimals as the step needs.
        let s = NiceScale([0.012, 0.041])
        #expect(mantissaOK(s.step) && s.lo <= 0.012 && s.hi >= 0.041)
        #expect(s.step == 0.005 && s.label(0.02) == "0.020" && s.label(0.015) == "0.015")
        let m = NiceScale([-3, 7])
        #expect(m.lo <= -3 && m.hi >= 7 && m.ticks.contains(0) && m.label(0) == "0")
        // Degenerate: all equal (an axis around the value), all zero (0 to 1), nothing.
        let e = NiceScale([28.2117, 28.2117, 28.2125])
        #expect(e.hi - e.lo >= 0.5 && e.lo <= 28.2117 && e.hi >= 28.2125)
        let z = NiceScale([0, 0])
        #expect(z.lo == 0 && z.hi == 1)
        #expect(NiceScale([]).ticks.count >= 2)
        for raw in [0.013, 0.3, 1, 1.4, 1.6, 2.9, 3.1, 6.9, 7.1, 420, 9999] { #expect(mantissaOK(NiceScale.niceStep(raw)), "\(raw)") }
    }
}

extension ReportVizTests {
    @Test("sweep.html: axes scaled to the data with nice ticks and units, the Pareto front drawn as red points")
    func sweepCharts() throws {
        let p = try plan(smallPlan)
        let runner = try SweepRunner(plan: p, mode: .flow)
        let rows = RowsBox()
        runner.run(Array(0..<p.gridSize), jobs: 2) { rows.add($0) }
        let results = SweepResults(runner: runner, selection: SweepSelection(), rows: rows.rows)
        let html = try #require(results.files.first { $0.name == "sweep.html" }?.contents)
        let front = results.paretoFront
        #expect(!front.isEmpty)
        #expect(html.components(separatedBy: "<circle class=\"pareto\"").count - 1 == front.count)
        #expect(html.contains("fill=\"#c0392b\" stroke=\"#ffffff\""))
        // Tick labels are plain numbers (no 1.086e+05) and the cost axis counts thousands as k.
        let root = try SafeXML.parse(Array(html.drop { $0 != "\n" }.dropFirst().drop { $0 != "\n" }.dropFirst().utf8), file: "sweep.html")
        let labels = elements(root, "text") { $0["font-size"] == "10" }.map(\.text)
        #expect(!labels.isEmpty && !labels.contains { $0.contains("e+") || $0.contains("e-") })
        #expect(labels.contains { $0.hasSuffix("k") })
        #expect(html.contains("(GB/s)"))
        // Each metric chart's y axis covers its data and starts above 0 when the data does.
        let m = 0
        let values = results.rows.compactMap { $0.error == nil ? $0.metrics[m] : nil }
        let scale = NiceScale(values)
        #expect(scale.lo <= values.min()! && scale.hi >= values.max()!)
    }
}
