import Foundation

/// Pictures shared from other apps, waiting for the app. The share extension
/// cannot run the model (an extension gets about 120 MB of memory) nor open the
/// app, so it drops the photo's bytes here, in the app group's container, and
/// the app opens a conversation on the newest one when it next becomes active.
/// Foundation only: the extension links this and nothing else of the app.
public struct PictureInbox: Sendable {
    /// The Info.plist key both targets carry the app group's id under. The id
    /// itself is written once, in Signing/Signing.xcconfig (`IMP_APP_GROUP`),
    /// from which the entitlements and both Info.plists take it.
    public static let appGroupKey = "ImpAppGroup"
    /// A shared picture older than this is stale: the person has moved on.
    public static let freshness: TimeInterval = 15 * 60
    /// Larger files are refused (the extension copies bytes without decoding).
    public static let maxBytes = 64 << 20
    /// The extension copies in pieces this large: its memory holds one at a time.
    static let copyChunkBytes = 1 << 20

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The app group named by an Info.plist (nil if absent, or if the build
    /// setting was not expanded).
    public static func appGroup(in info: [String: Any]?) -> String? {
        guard let group = info?[appGroupKey] as? String, group.hasPrefix("group."), !group.contains("$(") else {
            return nil
        }
        return group
    }

    /// The inbox in the app group's container; nil if the group is not set up.
    public static func shared(bundle: Bundle = .main) -> PictureInbox? {
        #if canImport(Darwin)
        appGroup(in: bundle.infoDictionary)
            .flatMap { FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: $0) }
            .map { PictureInbox(directory: $0.appendingPathComponent("SharedPictures")) }
        #else
        nil  // app groups exist on Apple systems only
        #endif
    }

    public enum DepositError: Error, Equatable {
        case empty, tooLarge
    }

    /// Stores a shared photo's bytes.
    public func deposit(_ data: Data, now: Date = Date()) throws {
        guard !data.isEmpty else { throw DepositError.empty }
        guard data.count <= Self.maxBytes else { throw DepositError.tooLarge }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try data.write(to: directory.appendingPathComponent(Self.name(now)), options: .atomic)
    }

    /// Stores a shared photo's file (called by the share extension with the
    /// file the system wrote for it). The size is checked before a byte is
    /// read, and the copy goes a piece at a time and stops past the cap (a
    /// file still growing), so the extension never holds more than a piece.
    public func deposit(fileAt source: URL, now: Date = Date()) throws {
        let size = try source.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
        guard size > 0 else { throw DepositError.empty }
        guard size <= Self.maxBytes else { throw DepositError.tooLarge }
        let incoming = directory.deletingLastPathComponent()
            .appendingPathComponent(directory.lastPathComponent + "-incoming")
        try FileManager.default.createDirectory(at: incoming, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Written beside the inbox, then moved in whole: the app never takes half a file.
        let partial = incoming.appendingPathComponent(UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: partial) }
        let copied = try Self.copy(source, to: partial, limit: Self.maxBytes)
        guard copied > 0 else { throw DepositError.empty }
        try FileManager.default.moveItem(at: partial, to: directory.appendingPathComponent(Self.name(now)))
    }

    /// The newest fresh picture, removed from the inbox with every other one
    /// (several shares in a row: the person wants the last).
    public func takeNewest(now: Date = Date()) -> Data? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let stamped = names.compactMap { name -> (ms: Int64, name: String)? in
            guard let ms = name.split(separator: "-").first.flatMap({ Int64($0) }) else { return nil }
            return (ms, name)
        }
        let newest = stamped.max { $0.ms < $1.ms }
        var data: Data?
        if let newest, now.timeIntervalSince1970 * 1000 - Double(newest.ms) <= Self.freshness * 1000 {
            let url = directory.appendingPathComponent(newest.name)
            let size = (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
            if size <= Self.maxBytes { data = try? Data(contentsOf: url) }
        }
        for name in names {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        return data
    }

    private static func name(_ now: Date) -> String {
        "\(Int64(now.timeIntervalSince1970 * 1000))-\(UUID().uuidString)"
    }

    /// Copies at most `limit` bytes, a chunk at a time; throws `tooLarge` past it.
    private static func copy(_ source: URL, to target: URL, limit: Int) throws -> Int {
        let reader = try FileHandle(forReadingFrom: source)
        defer { try? reader.close() }
        guard FileManager.default.createFile(atPath: target.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown)
        }
        let writer = try FileHandle(forWritingTo: target)
        defer { try? writer.close() }
        var total = 0
        while let chunk = try reader.read(upToCount: copyChunkBytes), !chunk.isEmpty {
            total += chunk.count
            guard total <= limit else { throw DepositError.tooLarge }
            try writer.write(contentsOf: chunk)
        }
        return total
    }
}
