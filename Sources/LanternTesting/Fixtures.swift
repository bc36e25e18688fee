import Foundation

/// Locates the shared OTLP fixtures (`../shared/fixtures/otlp`) from tests and tools.
public enum Fixtures {
    /// The repository root, found from this source file's path.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `../shared` beside the repository, or `$LANTERN_SHARED`.
    public static var shared: URL {
        if let env = ProcessInfo.processInfo.environment["LANTERN_SHARED"] { return URL(fileURLWithPath: env) }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    public static var otlp: URL { shared.appendingPathComponent("fixtures/otlp") }

    /// The bytes of a fixture file, e.g. `file("otel-v2-http-protobuf", "0002-traces.req.pb")`.
    public static func file(_ caseName: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: otlp.appendingPathComponent(caseName).appendingPathComponent(name)))
    }

    /// Every trace payload in the fixtures: (case, file name).
    public static func tracePayloads() throws -> [(caseName: String, file: String)] {
        var out: [(String, String)] = []
        let cases = try FileManager.default.contentsOfDirectory(atPath: otlp.path).sorted()
        for c in cases {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: otlp.appendingPathComponent(c).path, isDirectory: &isDir), isDir.boolValue else { continue }
            for f in try FileManager.default.contentsOfDirectory(atPath: otlp.appendingPathComponent(c).path).sorted()
            where f.contains("-traces.") && (f.hasSuffix(".pb") || f.hasSuffix(".json") || f.hasSuffix(".gz")) && !f.hasSuffix("headers.json") {
                out.append((c, f))
            }
        }
        return out
    }
}
