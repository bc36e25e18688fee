import Foundation

/// Decides whether a request may ingest or run an admin action, from its headers alone.
///
/// A client presents a secret as `Authorization: Bearer <secret>` or in the `X-Lantern-Key`
/// header (for exporters that can set headers but not the Authorization scheme). Ingest keys and
/// the admin token are separate: neither opens the other's routes.
public struct Authenticator: Sendable {
    /// What a request is allowed, or why not.
    public enum Decision: Sendable, Equatable {
        /// Allowed; `keyName` is the ingest key's name when one was needed.
        case allowed(keyName: String?)
        /// No secret was presented where one is required.
        case missing
        /// A secret was presented but is not a valid one for this route.
        case invalid
        /// The route is closed because no admin token is configured.
        case closed
    }

    public let auth: ServerConfiguration.Auth

    public init(auth: ServerConfiguration.Auth) {
        self.auth = auth
    }

    /// For the OTLP endpoints: open when no ingest keys are configured.
    public func ingest(authorization: String?, keyHeader: String?) -> Decision {
        guard auth.requiresIngestKey else { return .allowed(keyName: nil) }
        guard let secret = Self.secret(authorization: authorization, keyHeader: keyHeader) else { return .missing }
        let digest = SecretDigest(secret: secret)
        var found: String?
        for key in auth.ingestKeys where key.digest.matches(digest) { found = key.name }
        return found.map { .allowed(keyName: $0) } ?? .invalid
    }

    /// For admin routes: closed when no admin token is configured.
    public func admin(authorization: String?, keyHeader: String?) -> Decision {
        guard let token = auth.adminToken else { return .closed }
        guard let secret = Self.secret(authorization: authorization, keyHeader: keyHeader) else { return .missing }
        return token.matches(SecretDigest(secret: secret)) ? .allowed(keyName: nil) : .invalid
    }

    /// For reading the API (reports, queries, drift): open when neither ingest keys nor an admin
    /// token are configured; otherwise any ingest key or the admin token.
    public func reader(authorization: String?, keyHeader: String?) -> Decision {
        guard auth.requiresIngestKey || auth.adminToken != nil else { return .allowed(keyName: nil) }
        guard let secret = Self.secret(authorization: authorization, keyHeader: keyHeader) else { return .missing }
        let digest = SecretDigest(secret: secret)
        if let token = auth.adminToken, token.matches(digest) { return .allowed(keyName: nil) }
        for key in auth.ingestKeys where key.digest.matches(digest) { return .allowed(keyName: key.name) }
        return .invalid
    }

    /// The secret from `Authorization: Bearer ...` (scheme case-insensitive) or the key header.
    static func secret(authorization: String?, keyHeader: String?) -> String? {
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                let token = parts[1].trimmingCharacters(in: .whitespaces)
                if !token.isEmpty { return token }
            }
        }
        if let keyHeader {
            let token = keyHeader.trimmingCharacters(in: .whitespaces)
            if !token.isEmpty { return token }
        }
        return nil
    }
}
