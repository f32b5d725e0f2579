// simrun: the PCIeSim command line. Parses arguments, calls the Sim and Scenarios libraries, formats output.
import ArgumentParser
import Foundation

@main
struct Simrun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simrun",
        abstract: "Simulate PCIe fabrics and their IOMMUs; check P2P DMA against Linux's rules.",
        version: "0.1.0",
        subcommands: [RunCommand.self, Validate.self, Show.self, Generate.self, Schema.self, RouteCommand.self, GroupsCommand.self, P2PCommand.self, ConformanceCommand.self,
                      Import.self, Export.self, Oracle.self, RegressCommand.self, DiffCommand.self, SweepCommand.self,
                      CheckTopoMCommand.self, FidelityCommand.self],
        defaultSubcommand: RunCommand.self
    )

    /// As ArgumentParser's `main`, except that a command line it cannot parse (an unknown flag, `--sample` past
    /// Int's range) exits with the command's documented bad-input status, not 64 (EX_USAGE): 2 for `regress` and
    /// `fidelity` (whose 1 means a case failed), 1 for every other command.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                let name = CommandLine.arguments.dropFirst().first ?? ""
                Foundation.exit([RegressCommand.configuration.commandName, FidelityCommand.configuration.commandName].contains(name) ? 2 : 1)
            }
            exit(withError: error)
        }
    }
}
