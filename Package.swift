// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "crm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crm", targets: ["CRMCLI"]),
        .executable(name: "crm-bench", targets: ["CRMBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Already built for Hummingbird; named here for its HTTP parts in our channel handler.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // Already built for PostgresNIO; named here for TLS to databases on other machines.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // No external reference loading: we only build documents, and it builds faster without.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0", traits: []),
        // Tenant blueprints: YAML with line and column for every node.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Counters and histograms in the domain (swift-metrics), exposed at /metrics by Prometheus.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // libargon2 from Debian's libargon2-dev, found through pkg-config.
        .systemLibrary(
            name: "CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        // Domain: tenancy, identity, database access and migrations. No HTTP types.
        .target(
            name: "CRMCore",
            dependencies: [
                "CArgon2",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            resources: [
                .copy("Identity/Resources/common-passwords.txt"),
                // Each migration scope's .sql files, in a folder named after the scope (copied
                // folders share one namespace): see MigrationScope.bundled.
                .copy("Migrations/platform"),
                .copy("Migrations/core"),
                .copy("Modules/Customers/migrations/customers"),
                .copy("Modules/Leads/migrations/leads"),
                .copy("Modules/Activities/migrations/activities"),
                .copy("Modules/Workflow/migrations/workflow"),
                .copy("Modules/Approvals/migrations/approvals"),
                .copy("Modules/Sales/migrations/sales"),
            ]
        ),
        // HTTP: routes, middleware, problem+json. Knows no SQL.
        .target(
            name: "CRMHTTP",
            dependencies: [
                "CRMCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "CRMCLI",
            dependencies: [
                "CRMCore",
                "CRMHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks run by ops/bench: the same code paths, measured in-process.
        .executableTarget(
            name: "CRMBench",
            dependencies: [
                "CRMCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CRMTests",
            dependencies: [
                "CRMCore",
                "CRMHTTP",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            // Reviewed SQL the snapshot tests compare with (and rewrite with CRM_UPDATE_SNAPSHOTS=1).
            exclude: ["Snapshots"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
