// Scenarios: workloads, built-in scenarios, scenario files, trace replay and reports (the scenarios issue).
// The module exists so the dependency arrows (Sim <- Scenarios <- simrun) are fixed from the start; its
// test target is added together with its first code.
import Sim
