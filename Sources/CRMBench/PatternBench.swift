import CRMCore
import ArgumentParser
import Foundation

/// Custom-field patterns: one value checked the way values were checked before (ICU,
/// backtracking) and with `FieldPattern` (linear time), for the pattern of issue 13.
struct Patterns: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Field patterns: ICU (the old check) against FieldPattern on a*a*…a*b (12 stars) and values of n a's.")
    @Option(help: "Runs of the linear matcher per value length.") var runs = 2_000
    @Option(help: "Runs of ICU per value length (each can take most of a second).") var icuRuns = 3

    func run() async throws {
        let pattern = String(repeating: "a*", count: 12) + "b"
        guard case .success(let compiled) = FieldPattern.compile(pattern) else { throw ValidationError("pattern refused") }
        for n in [12, 16, 64, 255] {
            let value = String(repeating: "a", count: n)
            var icu: [Double] = []
            for _ in 0..<icuRuns {
                let start = ContinuousClock.now
                _ = value.range(of: "^(?:\(pattern))$", options: .regularExpression)
                icu.append(ms(start.duration(to: .now)))
            }
            var linear: [Double] = []
            for _ in 0..<runs {
                let start = ContinuousClock.now
                _ = compiled.matches(value)
                linear.append(ms(start.duration(to: .now)))
            }
            print(String(format: "pattern (a*)×12 b, value of %3d a's: ICU median %8.2f ms; FieldPattern median %.4f ms, max %.4f ms",
                         n, percentile(icu, 0.5), percentile(linear, 0.5), linear.max() ?? 0))
        }
        // The worst this grammar allows: about 2,000 states against 255 characters.
        let widest = "(a|b|c|d|e|f|g|h|i|j)" + String(repeating: "(a|b|c|d|e|f|g|h|i|j)?", count: 60)
        if case .success(let big) = FieldPattern.compile(widest) {
            let value = String(repeating: "a", count: 255)
            var times: [Double] = []
            for _ in 0..<200 {
                let start = ContinuousClock.now
                _ = big.matches(value)
                times.append(ms(start.duration(to: .now)))
            }
            print(String(format: "a program of %d states, value of 255 characters: median %.3f ms, max %.3f ms",
                         big.stateCount, percentile(times, 0.5), times.max() ?? 0))
        }
    }
}
