import Foundation
import ImpKit

/// The pictures of saved conversations at a size worth encoding again. The
/// history keeps only a thumbnail (256 px a side): enough to recognise a
/// conversation, too small for a 384-px model to read text from when a
/// conversation is reopened for a follow-up. Files: `<dir>/<conversation id>`,
/// removed with their conversation.
public struct OriginalPictures: Sendable {
    /// RGBA pictures are kept at most this large (raw pixels are big; 768 is
    /// twice what the largest model sees).
    public static let keptRGBASide = 768
    private static let rgbaMagic = Data("IMPRGBA1".utf8)

    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// Keeps `picture` for the conversation `id`. Failing to keep it only costs
    /// sharpness later (the thumbnail is used), so errors are returned, not thrown.
    @discardableResult
    public func keep(_ picture: Picture, for id: String) -> Bool {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let data: Data
            switch picture {
            case .encoded(let bytes): data = bytes
            case .file(let path): data = try Data(contentsOf: URL(fileURLWithPath: path))
            case .rgba(let width, let height, let pixels):
                data = Self.rgbaFile(Self.shrink(width: Int(width), height: Int(height), pixels: pixels))
            }
            try data.write(to: file(id), options: .atomic)
            return true
        } catch {
            return false
        }
    }

    /// The kept picture, or nil (never kept, or removed).
    public func picture(for id: String) -> Picture? {
        guard let data = try? Data(contentsOf: file(id)) else { return nil }
        guard data.starts(with: Self.rgbaMagic) else { return .encoded(data) }
        let header = [UInt8](data.prefix(16))
        guard header.count == 16 else { return nil }
        let width = header[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let height = header[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let pixels = data.dropFirst(16)
        guard pixels.count == Int(width) * Int(height) * 4 else { return nil }
        return .rgba(width: width, height: height, pixels: Data(pixels))
    }

    public func remove(_ id: String) {
        try? FileManager.default.removeItem(at: file(id))
    }

    /// Removes pictures whose conversation is gone (deleted, or dropped by the
    /// history's size bound).
    public func prune(keeping ids: Set<String>) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where !ids.contains(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    private func file(_ id: String) -> URL {
        // Conversation ids come from the store; keep them to one path component.
        directory.appendingPathComponent(id.replacingOccurrences(of: "/", with: "_"))
    }

    private static func rgbaFile(_ picture: (width: Int, height: Int, pixels: Data)) -> Data {
        var data = rgbaMagic
        for value in [UInt32(picture.width), UInt32(picture.height)] {
            data.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) })
        }
        data.append(picture.pixels)
        return data
    }

    /// Averages `factor` x `factor` blocks so the longer side is at most
    /// `keptRGBASide` (a box filter: cheap, and fine before the core's bicubic).
    static func shrink(width: Int, height: Int, pixels: Data) -> (width: Int, height: Int, pixels: Data) {
        let factor = (max(width, height) + keptRGBASide - 1) / keptRGBASide
        guard factor > 1, pixels.count == width * height * 4 else { return (width, height, pixels) }
        let (w, h) = (width / factor, height / factor)
        let source = [UInt8](pixels)
        var out = [UInt8](repeating: 0, count: w * h * 4)
        let area = factor * factor
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<4 {
                    var sum = 0
                    for dy in 0..<factor {
                        let row = ((y * factor + dy) * width + x * factor) * 4 + c
                        for dx in 0..<factor { sum += Int(source[row + dx * 4]) }
                    }
                    out[(y * w + x) * 4 + c] = UInt8(sum / area)
                }
            }
        }
        return (w, h, Data(out))
    }
}
