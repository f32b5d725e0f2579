// simrun: the PCIeSim command line. Parses arguments, calls the Sim and Scenarios libraries, formats output.
import ArgumentParser
import Foundation

@main
struct Simrun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simrun",
        abstract: "Simulate PCIe fabrics and their IOMMUs; check P2P DMA against Linux's rules.",
        discussion: """
            Exit status: 0 done, 1 bad input (an unknown option, device, scenario or file; the message says which and \
            suggests the nearest name), 2 a run that failed. `simrun diff` and `simrun regress` exit 1 when they find a \
            difference. Output paths are given with --out (-o) everywhere.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, Validate.self, Show.self, Generate.self, Schema.self, RouteCommand.self, GroupsCommand.self, P2PCommand.self, ConformanceCommand.self,
                      Import.self, Export.self, Oracle.self, RegressCommand.self, DiffCommand.self, SweepCommand.self,
                      CheckTopoMCommand.self, FidelityCommand.self, FixCommand.self, MapCommand.self],
        defaultSubcommand: RunCommand.self
    )

    /// The entry point: bare `simrun` prints the overview (exit 0); a usage error (unknown option, missing argument,
    /// a command's own `ValidationError`) is bad input like every other, exit 1, with the message and the usage line.
    static func main() {
        main(Array(CommandLine.arguments.dropFirst()))
    }

    static func main(_ arguments: [String]) {
        if arguments.isEmpty {
            print(helpMessage())
            Foundation.exit(0)
        }
        var command: ParsableCommand
        do { command = try parseAsRoot(arguments) } catch {
            // The subcommand the user named, for its usage line and its bad-input status.
            let named = configuration.subcommands.first { $0.configuration.commandName == arguments.first }
            fail(error, named ?? Self.self)
        }
        do { try command.run() } catch { fail(error, type(of: command)) }
    }

    /// Reports an error the way `command`'s usage reads, as bad input when it is a usage error: exit 1, or 2 for
    /// `regress` and `fidelity`, whose 1 means a case failed (their documented bad-input status).
    static func fail(_ error: Error, _ command: ParsableCommand.Type) -> Never {
        if exitCode(for: error) == .validationFailure {
            var message = command.fullMessage(for: error)
            // A subcommand's own message names it alone; say it as the user typed it.
            if command != Simrun.self, let name = command.configuration.commandName {
                message = message.replacingOccurrences(of: "Usage: \(name) ", with: "Usage: simrun \(name) ")
                    .replacingOccurrences(of: "See '\(name) --help'", with: "See 'simrun \(name) --help'")
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(command == RegressCommand.self || command == FidelityCommand.self || command == MapCommand.self ? 2 : 1)
        }
        exit(withError: error)
    }
}
