import ArgumentParser
import CRMCore
import CRMHTTP
import Foundation
import Logging

/// `crm routes`: the route table as the router has it, one `METHOD PATH` a line (or JSON), so
/// that tools such as the reliability suite's cross-tenant matrix cover every route there is.
struct RoutesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes", abstract: "Print every route of the HTTP API (method and path), from the router itself.")

    @Flag(help: "JSON: [{\"method\": …, \"path\": …}]")
    var json = false

    func run() async throws {
        let config = try AppConfig.load()
        var logger = Logger(label: "crm.routes")
        logger.logLevel = .critical
        // The router is built as `crm serve` builds it; no connection is opened.
        let db = try Database(config: config.database, logger: logger)
        let routes = HTTPServer.router(services: AppServices(config: config, db: db), logger: logger).routes
            .map { (method: $0.method.rawValue, path: "\($0.path)") }
            .sorted { ($0.path, $0.method) < ($1.path, $1.method) }
        if json {
            let list = routes.map { ["method": $0.method, "path": $0.path.hasPrefix("/") ? $0.path : "/" + $0.path] }
            let data = try JSONSerialization.data(withJSONObject: list, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for r in routes { print("\(r.method) \(r.path.hasPrefix("/") ? r.path : "/" + r.path)") }
        }
    }
}
