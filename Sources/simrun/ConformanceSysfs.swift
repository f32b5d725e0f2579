// simrun conformance --backend sysfs: import this machine, predict its IOMMU groups, compare with the kernel's.
import ArgumentParser
import Sim

extension ConformanceCommand {
    func runSysfs() throws {
        let backend: LinuxSysfsBackend
        switch Result(catching: { () throws(DiagnosticError) in try LinuxSysfsBackend(root: root) }) {
        case .success(let b): backend = b
        case .failure(let e):
            report(e.diagnostics)
            throw ExitCode(2)
        }
        let imported: ImportResult
        switch Result(catching: { () throws(DiagnosticError) in try SysfsImporter.read(root: root) }) {
        case .success(let r): imported = r
        case .failure(let e):
            report(e.diagnostics)
            throw ExitCode(2)
        }
        let loaded: LoadedTopology
        switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology(topology: imported.topology) }) {
        case .success(let l): loaded = l
        case .failure(let e):
            report(e.diagnostics)
            throw ExitCode(2)
        }
        let result = SysfsGroupComparison.compare(backend: backend, predicted: Semantics(loaded), loaded: loaded)
        print(result.text, terminator: "")
        if !result.mismatches.isEmpty { throw ExitCode(1) }
    }
}
