import ArgumentParser
import Foundation
import LanternServer

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make ingest keys and admin tokens, and the digests the configuration holds instead of them.",
        subcommands: [New.self, Hash.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random secret and its sha256 digest (put the digest in lantern.yaml, give the secret to the client).")
        @Option(help: "The key's name, as it will appear in logs.") var name = "app"

        func run() {
            let secret = SecretDigest.generateSecret()
            print("secret: \(secret)")
            print("config: {name: \(name), sha256: \"\(SecretDigest(secret: secret))\"}")
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read a secret from standard input and print its sha256 digest.")

        func run() throws {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no secret on standard input")
            }
            print(SecretDigest(secret: line))
        }
    }
}
