import Foundation
import LanternCollector
import LanternModel

/// OTLP trace payload files on disk: `.pb` (protobuf), `.json`, and either gzipped (`.gz`).
enum PayloadFiles {
    /// Expands files and folders (recursively) to the payload files in them, sorted by path.
    /// Files named as logs or metrics requests, header dumps and listings are left out.
    static func expand(_ paths: [String]) throws -> (files: [String], skipped: [String]) {
        var files: [String] = [], skipped: [String] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw ValidationErrorMessage("no such file or folder: \(p)") }
            if isDir.boolValue {
                let e = fm.enumerator(atPath: p)
                var found: [String] = []
                while let rel = e?.nextObject() as? String { found.append((p as NSString).appendingPathComponent(rel)) }
                for f in found.sorted() {
                    var d: ObjCBool = false
                    guard fm.fileExists(atPath: f, isDirectory: &d), !d.boolValue else { continue }
                    if isPayload(f) { files.append(f) } else if isCandidate(f) { skipped.append(f) }
                }
            } else if isCandidate(p) && !isPayload(p) {
                skipped.append(p)
            } else {
                files.append(p)
            }
        }
        return (files, skipped)
    }

    static func isCandidate(_ path: String) -> Bool {
        path.hasSuffix(".pb") || path.hasSuffix(".json") || path.hasSuffix(".gz")
    }

    static func isPayload(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        guard isCandidate(name) else { return false }
        if name.contains("headers") || name.contains("manifest") || name.contains("-logs.") || name.contains("-metrics.") { return false }
        return true
    }

    /// Decodes one file: format from the extension (gzip sniffed by its magic number).
    static func decode(path: String, decoder: OTLPTraceBodyDecoder, normalizer: Normalizer) throws -> NormalizedTraces {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let gzipped = Decompression.looksGzipped(bytes)
        var format: OTLPFormat = path.hasSuffix(".json") || path.hasSuffix(".json.gz") ? .json : .protobuf
        if gzipped && !path.hasSuffix(".json.gz") && !path.hasSuffix(".pb.gz") {
            // A bare .gz: look at the inflated body's first byte.
            let inflated = try Decompression.inflate(bytes, encoding: .gzip, limit: decoder.maxBodyBytes)
            format = inflated.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "{") ? .json : .protobuf
            return try decoder.decodeNormalized(inflated, format: format, encoding: .identity, normalizer: normalizer)
        }
        return try decoder.decodeNormalized(bytes, format: format, encoding: gzipped ? .gzip : .identity, normalizer: normalizer)
    }
}

struct ValidationErrorMessage: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
