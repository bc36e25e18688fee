import Foundation
import LanternCollector
@testable import LanternServer
import LanternTesting
import LanternYAML
import Testing

@Suite("Configuration file, secrets and admission")
struct ConfigurationTests {
    @Test("the documented example collectors/lantern.yaml loads without problems and keeps safe defaults")
    func documentedExample() throws {
        let path = Fixtures.repositoryRoot.appendingPathComponent("collectors/lantern.yaml").path
        let (config, problems) = ConfigurationFile.load(path: path)
        #expect(problems.isEmpty, "\(problems)")
        #expect(config.problems().isEmpty)
        #expect(config.http == .init(host: "127.0.0.1", port: 4318))
        #expect(config.limits.maxBodyBytes == 64 << 20)
        #expect(config.auth.ingestKeys.isEmpty && config.auth.adminToken == nil)
        #expect(config.redaction.builtins == ["email", "phone", "card", "api_key"])
        #expect(config.retention.intervalNanos == 600_000_000_000)
    }

    @Test("every problem is reported at once, each with its line")
    func everyProblemAtOnce() {
        let yaml = """
        listen:
          http: localhost-no-port
        limits:
          max_body: lots
          max_queued_spans: -3
          colour: blue
        auth:
          ingest_keys:
            - name: app
              sha256: "sk-live-not-a-digest"
            - sha256: "sha256:\(String(repeating: "ab", count: 32))"
        redaction:
          builtins: [email, ssn]
          patterns:
            - name: broken
              regex: '([a-z]'
        variants:
          - service_version: v2
        retention:
          max_age: forever
        log:
          format: xml
        """
        let (_, problems) = ConfigurationFile.parse(yaml: yaml, file: "bad.yaml")
        let text = problems.map(\.description)
        func has(_ line: Int, _ fragment: String) -> Bool { text.contains { $0.hasPrefix("bad.yaml:\(line):") && $0.contains(fragment) } }
        #expect(has(2, "listen.http"), "\(text)")
        #expect(has(4, "limits.max_body"), "\(text)")
        #expect(has(5, "max_queued_spans"), "\(text)")
        #expect(has(6, "unknown key 'colour'"), "\(text)")
        #expect(has(10, "sha256"), "\(text)")
        #expect(has(11, "needs a 'name'"), "\(text)")
        #expect(has(13, "'ssn' is not one of"), "\(text)")
        #expect(has(16, "invalid regular expression"), "\(text)")
        #expect(has(18, "needs a 'variant'"), "\(text)")
        #expect(has(20, "retention.max_age"), "\(text)")
        #expect(has(22, "log.format"), "\(text)")
        #expect(problems.count == 11, "\(text)")
    }

    @Test("a non-loopback listener needs ingest keys; admin token must differ from every ingest key")
    func wholeConfigurationRules() throws {
        var config = ServerConfiguration()
        config.http.host = "0.0.0.0"
        #expect(config.problems().contains { $0.contains("non-loopback") })
        let digest = SecretDigest(secret: "lnt_secret")
        config.auth.ingestKeys = [NamedDigest(name: "app", digest: digest)]
        #expect(config.problems().isEmpty)
        config.auth.adminToken = digest
        #expect(config.problems().contains { $0.contains("admin token must differ") })
        config.http.port = 70_000
        config.limits.maxInFlightBytes = 1
        #expect(config.problems().count == 3, "\(config.problems())")
        config.limits.decoding.maxDepth = 63
        #expect(config.problems().count == 3, "\(config.problems())")
        config.limits.decoding.maxDepth = 64
        #expect(config.problems().contains { $0.contains("limits.max_depth") }, "\(config.problems())")
    }

    @Test("secret digests: sha256 of the secret, parsed back from text, generated secrets are distinct")
    func digests() throws {
        // SHA-256("abc"), the FIPS 180-2 test vector.
        let abc = SecretDigest(secret: "abc")
        #expect(abc.description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SecretDigest(text: abc.description) == abc)
        #expect(SecretDigest(text: String(abc.description.dropFirst(7)).uppercased()) == abc)
        #expect(SecretDigest(text: "sha256:abc") == nil)
        #expect(SecretDigest(text: "sha256:" + String(repeating: "zz", count: 32)) == nil)
        let a = SecretDigest.generateSecret(), b = SecretDigest.generateSecret()
        #expect(a != b && a.hasPrefix("lnt_") && a.count == 47)
    }

    @Test("ingest keys and the admin token open only their own routes")
    func authenticator() {
        var auth = ServerConfiguration.Auth()
        #expect(Authenticator(auth: auth).ingest(authorization: nil, keyHeader: nil) == .allowed(keyName: nil))
        #expect(Authenticator(auth: auth).admin(authorization: "Bearer x", keyHeader: nil) == .closed)
        auth.ingestKeys = [NamedDigest(name: "checkout", digest: SecretDigest(secret: "ingest-1"))]
        auth.adminToken = SecretDigest(secret: "admin-1")
        let a = Authenticator(auth: auth)
        #expect(a.ingest(authorization: nil, keyHeader: nil) == .missing)
        #expect(a.ingest(authorization: "Bearer ingest-1", keyHeader: nil) == .allowed(keyName: "checkout"))
        #expect(a.ingest(authorization: "bearer  ingest-1 ", keyHeader: nil) == .allowed(keyName: "checkout"))
        #expect(a.ingest(authorization: nil, keyHeader: "ingest-1") == .allowed(keyName: "checkout"))
        #expect(a.ingest(authorization: "Basic aW5nZXN0LTE=", keyHeader: nil) == .missing)
        #expect(a.ingest(authorization: "Bearer admin-1", keyHeader: nil) == .invalid)
        #expect(a.admin(authorization: "Bearer ingest-1", keyHeader: nil) == .invalid)
        #expect(a.admin(authorization: "Bearer admin-1", keyHeader: nil) == .allowed(keyName: nil))
    }

    @Test("admission bounds request bytes in flight and spans queued")
    func admission() {
        let admission = Admission(maxInFlightBytes: 100)
        var first = admission.admit(bytes: 60)
        #expect(first != nil)
        #expect(admission.admit(bytes: 50) == nil)
        admission.shrink(&first!, to: 20)
        let second = admission.admit(bytes: 50)
        #expect(second != nil && admission.inFlightBytes == 70)
        admission.release(first!)
        admission.release(second!)
        #expect(admission.inFlightBytes == 0)
        #expect(Admission.queueHasRoom(queued: 0, incoming: 1_000, limit: 10), "an empty queue takes any one request")
        #expect(Admission.queueHasRoom(queued: 4, incoming: 6, limit: 10))
        #expect(!Admission.queueHasRoom(queued: 5, incoming: 6, limit: 10))
    }

    @Test("listener addresses: host:port, [v6]:port, :port")
    func listeners() {
        #expect(ConfigurationFile.parseListener("0.0.0.0:4318") == .init(host: "0.0.0.0", port: 4318))
        #expect(ConfigurationFile.parseListener("[::1]:9000") == .init(host: "::1", port: 9000))
        #expect(ConfigurationFile.parseListener(":4318") == .init(host: "127.0.0.1", port: 4318))
        #expect(ConfigurationFile.parseListener("localhost") == nil)
        #expect(ServerConfiguration.Listener(host: "::1", port: 1).isLoopback)
        #expect(!ServerConfiguration.Listener(host: "10.0.0.1", port: 1).isLoopback)
    }
}
