import Crypto
import Foundation

/// The SHA-256 digest of a secret (an ingest key or the admin token). Lantern keeps and compares
/// only digests, so a configuration file or a log line never holds a usable secret.
public struct SecretDigest: Sendable, Hashable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// The digest of a secret as presented by a client.
    public init(secret: String) {
        bytes = Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Reads `sha256:<64 hex digits>` (or the 64 hex digits alone), as written in configuration.
    public init?(text: String) {
        var hex = Substring(text.trimmingCharacters(in: .whitespaces))
        if hex.lowercased().hasPrefix("sha256:") { hex = hex.dropFirst(7) }
        guard hex.utf8.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        bytes = out
    }

    /// `sha256:` and the digest in lower-case hex: the form configuration files hold.
    public var description: String {
        "sha256:" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    /// Compares in time independent of where the digests differ.
    public func matches(_ other: SecretDigest) -> Bool {
        guard bytes.count == other.bytes.count else { return false }
        var difference: UInt8 = 0
        for i in bytes.indices { difference |= bytes[i] ^ other.bytes[i] }
        return difference == 0
    }

    /// A new random secret: `lnt_` and 43 characters of base64url (256 bits from the system's
    /// cryptographic generator).
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64 = Data(raw).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "lnt_" + base64
    }
}

/// An ingest key's digest with the name it is known by (the name, never the key, is logged).
public struct NamedDigest: Sendable, Equatable {
    public var name: String
    public var digest: SecretDigest
    public init(name: String, digest: SecretDigest) {
        self.name = name
        self.digest = digest
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
