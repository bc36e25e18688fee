import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LanternTesting
import Testing

// Helpers shared by the server tests: the built `lantern` executable, `lantern serve` as a real
// process on a loopback port, and child processes whose output goes to files.

/// The `lantern` executable: `$LANTERN_BIN`, else `.build/debug/lantern` under the repository.
var lanternExecutable: URL {
    if let path = ProcessInfo.processInfo.environment["LANTERN_BIN"] { return URL(fileURLWithPath: path) }
    return Fixtures.repositoryRoot.appendingPathComponent(".build/debug/lantern")
}

/// A running `lantern serve` with a database in a temporary directory of its own.
struct ServeProcess {
    let process: Process
    let port: Int
    /// The OTLP/gRPC port, when the server was started with one (`withLanternServe(grpc: true)`).
    let grpcPort: Int?
    let db: String
    let dir: URL
    /// The server's standard error (its log), a file in `dir`.
    let log: URL

    func post(_ body: [UInt8], type: String, encoding: String? = nil, path: String = "/v1/traces",
              headers: [String: String] = [:]) async throws -> (status: Int, body: [UInt8], type: String?) {
        let r = try await send(body, type: type, encoding: encoding, path: path, headers: headers)
        return (r.status, r.body, r.headers["Content-Type"])
    }

    /// One request; the response's status, body and headers.
    func send(_ body: [UInt8]? = nil, method: String = "POST", type: String? = nil, encoding: String? = nil, path: String = "/v1/traces",
              headers: [String: String] = [:]) async throws -> (status: Int, body: [UInt8], headers: [String: String]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let type { request.setValue(type, forHTTPHeaderField: "Content-Type") }
        if let encoding { request.setValue(encoding, forHTTPHeaderField: "Content-Encoding") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = Data(body) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for name in ["Content-Type", "Retry-After"] { fields[name] = http.value(forHTTPHeaderField: name) }
        return (http.statusCode, [UInt8](data), fields)
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Polls `/metrics` (outside the in-flight budget) until the server holds at least `bytes` of
    /// requests in flight, for up to `seconds`; whether it did.
    func waitForInFlightBytes(atLeast bytes: Int, seconds: Double = 20) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let exposition = String(decoding: try await send(method: "GET", path: "/metrics").body, as: UTF8.self)
            let name = "lantern_in_flight_request_bytes "
            if let line = exposition.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
               let value = Double(line.dropFirst(name.count).trimmingCharacters(in: .whitespaces)), value >= Double(bytes) {
                return true
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return false
    }

    /// What the server has logged so far.
    func logText() -> String {
        (try? String(contentsOf: log, encoding: .utf8)) ?? "(no log at \(log.path))"
    }
}

/// Starts `lantern serve` on a random loopback port (up to five tries) with a fresh database, runs
/// `body`, then stops the server and deletes its directory. OTLP/gRPC is off (`--grpc-port 0`, so
/// servers of concurrent tests never share its default port) unless `grpc` asks for it on a random
/// port of its own.
func withLanternServe(maxBodyMib: Int = 64, grpc: Bool = false, arguments extra: [String] = [],
                      _ body: (ServeProcess) async throws -> Void) async throws {
    try #require(FileManager.default.isExecutableFile(atPath: lanternExecutable.path),
                 "the lantern executable is missing at \(lanternExecutable.path): run `swift build` first, or set LANTERN_BIN")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lantern-http-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("t.db").path
    var lastError = ""
    for attempt in 0..<5 {
        let port = 20_000 + Int.random(in: 0..<30_000)
        let grpcPort = grpc ? 20_000 + (port - 20_000 + 1 + Int.random(in: 0..<29_999)) % 30_000 : nil
        let log = dir.appendingPathComponent("serve-\(attempt).log")
        let p = Process()
        p.executableURL = lanternExecutable
        p.arguments = ["serve", "--db", db, "--port", String(port), "--grpc-port", String(grpcPort ?? 0), "--max-body-mib", String(maxBodyMib)] + extra
        // A file, not a pipe: nobody reads the log while the server runs, and a full pipe would block it.
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)
        p.standardError = logHandle
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        try? logHandle.close()
        let server = ServeProcess(process: p, port: port, grpcPort: grpcPort, db: db, dir: dir, log: log)
        var up = false
        for _ in 0..<100 where p.isRunning {
            if let (data, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!),
               (response as? HTTPURLResponse)?.statusCode == 200, String(decoding: data, as: UTF8.self).hasPrefix("ok"),
               grpcPort.map(acceptsConnections) ?? true {
                up = true
                break
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        guard up else {
            if p.isRunning { p.terminate(); p.waitUntilExit() }
            lastError = "attempt \(attempt): the server did not come up on port \(port):\n\(server.logText())"
            continue
        }
        do {
            try await body(server)
        } catch {
            if p.isRunning { p.terminate(); p.waitUntilExit() }
            throw error
        }
        if p.isRunning { p.terminate(); p.waitUntilExit() }
        return
    }
    Issue.record(Comment(rawValue: lastError))
}

/// Whether something accepts TCP connections on a loopback port (the gRPC listener is up).
func acceptsConnections(_ port: Int) -> Bool {
    guard let connection = try? RawConnection(port: port) else { return false }
    connection.close()
    return true
}

/// A child process whose standard output and error go to files (`<name>.out`, `<name>.err` in a
/// directory), so it never blocks on a full pipe and its output can be shown when something fails.
struct ChildProcess {
    let name: String
    let process: Process
    let stdoutFile: URL
    let stderrFile: URL

    /// Starts `executable` with `arguments`; `environment` replaces the inherited one when given.
    static func start(_ name: String, _ executable: URL, _ arguments: [String], outputIn dir: URL,
                      environment: [String: String]? = nil) throws -> ChildProcess {
        let out = dir.appendingPathComponent("\(name).out"), err = dir.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        if let environment { p.environment = environment }
        p.currentDirectoryURL = dir
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = outHandle
        p.standardError = errHandle
        try p.run()
        try? outHandle.close()
        try? errHandle.close()
        return ChildProcess(name: name, process: p, stdoutFile: out, stderrFile: err)
    }

    /// Waits for the exit and returns the status (128 + signal when killed by one); after `timeout`
    /// seconds kills the process and returns nil.
    func wait(timeout: TimeInterval) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// SIGTERM if still running; SIGKILL when it has not exited within `grace` seconds (a child
    /// started from a test thread may inherit a mask that blocks SIGTERM). Never spins forever.
    func stop(grace: TimeInterval = 5) {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        while process.isRunning { usleep(20_000) }
    }

    var stdout: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    /// Runs to the end and returns (status, stdout, stderr); status nil when killed after `timeout`.
    static func run(_ name: String, _ executable: URL, _ arguments: [String], outputIn dir: URL,
                    environment: [String: String]? = nil, timeout: TimeInterval) async throws -> (status: Int32?, stdout: String, stderr: String) {
        let child = try start(name, executable, arguments, outputIn: dir, environment: environment)
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }
}
