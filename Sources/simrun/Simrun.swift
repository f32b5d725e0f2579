// simrun: the PCIeSim command line. Parses arguments, calls the Sim and Scenarios libraries, formats output.
import ArgumentParser

@main
struct Simrun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simrun",
        abstract: "Simulate PCIe fabrics and their IOMMUs; check P2P DMA against Linux's rules.",
        version: "0.1.0",
        subcommands: [RunCommand.self, Validate.self, Show.self, Generate.self, Schema.self, RouteCommand.self, GroupsCommand.self, P2PCommand.self, ConformanceCommand.self,
                      Import.self, Export.self, Oracle.self, RegressCommand.self, DiffCommand.self, SweepCommand.self,
                      CheckTopoMCommand.self, FidelityCommand.self, FixCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
