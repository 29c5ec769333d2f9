import AgentSafeConfig
import AgentSafeCore
import ArgumentParser
import Foundation

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run policy test files (upstream format, plus callers with roles, groups and delegation).",
        discussion: "Ends with the line 'N passed, N failed'. Exit 0 only when every case passed and there was at least one.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Test files or directories of *.yaml test files.")
    var paths: [String]

    @Flag(name: .shortAndLong, help: "Print passing cases' reasons too.")
    var verbose = false

    func run() throws {
        let snapshot = try global.loadSnapshot()
        let cwd = FileManager.default.currentDirectoryPath
        var cases: [PolicyTestCase] = []
        var loadFailed = false
        for path in paths {
            let absolute = path.hasPrefix("/") ? path : URL(fileURLWithPath: cwd).appendingPathComponent(path).path
            do {
                for file in try PolicyTests.files(at: absolute, cwd: cwd) {
                    do {
                        cases += try PolicyTests.load(path: file, displayPath: CatalogueLoader.display(file, cwd: cwd),
                                                      unknownKeys: snapshot.config.unknownKeys)
                    } catch {
                        loadFailed = true
                        for d in error.diagnostics { Console.error(d.description) }
                    }
                }
            } catch {
                loadFailed = true
                for d in error.diagnostics { Console.error(d.description) }
            }
        }
        if loadFailed {
            Console.error("error: test files have errors; no case was run")
            throw ExitCode(1)
        }
        let results = PolicyTests.run(cases, engine: snapshot.engine, now: Timestamps.now())
        var currentFile = ""
        for r in results {
            if r.testCase.file != currentFile {
                currentFile = r.testCase.file
                print(currentFile)
            }
            if r.passed {
                print("  \(Console.paint("PASS", "32"))  \(r.testCase.name)")
                if verbose { print("        reason: \(r.decision.reason)") }
            } else {
                print("  \(Console.paint("FAIL", "31;1"))  \(r.testCase.name)  (\(r.failures.joined(separator: "; ")))")
                print("        reason: \(r.decision.reason)")
                print("        at: \(r.testCase.file):\(r.testCase.line)")
            }
        }
        let failed = results.filter { !$0.passed }.count
        print("")
        print("\(results.count - failed) passed, \(failed) failed")
        if failed > 0 || results.isEmpty { throw ExitCode(1) }
    }
}
