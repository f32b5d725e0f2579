// simrun conformance --backend sysfs: filled in with the sysfs importer.
import ArgumentParser
import Sim

extension ConformanceCommand {
    func runSysfs() throws {
        throw ValidationError("--backend sysfs needs the sysfs importer (simrun import sysfs), which this build does not have yet")
    }
}
