import Foundation

/// Pictures shared from other apps, waiting for the app. The share extension
/// cannot run the model (an extension gets about 120 MB of memory) nor open the
/// app, so it drops the photo's bytes here, in the app group's container, and
/// the app opens a conversation on the newest one when it next becomes active.
/// Foundation only: the extension links this and nothing else of the app.
public struct PictureInbox: Sendable {
    /// The app group both targets share (project.yml, entitlements).
    public static let appGroup = "group.app.imp.assistant"
    /// A shared picture older than this is stale: the person has moved on.
    public static let freshness: TimeInterval = 15 * 60
    /// Larger files are refused (the extension copies bytes without decoding).
    public static let maxBytes = 64 << 20

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The inbox in the app group's container; nil if the group is not set up.
    public static func shared() -> PictureInbox? {
        #if canImport(Darwin)
        FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: appGroup)
            .map { PictureInbox(directory: $0.appendingPathComponent("SharedPictures")) }
        #else
        nil  // app groups exist on Apple systems only
        #endif
    }

    public enum DepositError: Error, Equatable {
        case empty, tooLarge
    }

    /// Stores a shared photo's bytes (called by the share extension).
    public func deposit(_ data: Data, now: Date = Date()) throws {
        guard !data.isEmpty else { throw DepositError.empty }
        guard data.count <= Self.maxBytes else { throw DepositError.tooLarge }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = "\(Int64(now.timeIntervalSince1970 * 1000))-\(UUID().uuidString)"
        try data.write(to: directory.appendingPathComponent(name), options: .atomic)
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
            data = try? Data(contentsOf: directory.appendingPathComponent(newest.name))
        }
        for name in names {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        return data
    }
}
