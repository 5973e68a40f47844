import Foundation
import ImpKit

/// An image file's format, from its first bytes.
public enum PictureFormat: Equatable, Sendable {
    case jpeg, png, webp, gif, bmp, heif, unknown

    public init(sniffing data: Data) {
        let b = [UInt8](data.prefix(12))
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + magic.count && Array(b[offset..<offset + magic.count]) == magic
        }
        if starts([0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if starts([0x89, 0x50, 0x4E, 0x47]) {
            self = .png
        } else if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) {
            self = .webp
        } else if starts(Array("GIF8".utf8)) {
            self = .gif
        } else if starts(Array("BM".utf8)) {
            self = .bmp
        } else if starts(Array("ftyp".utf8), at: 4) {
            // ISO media: HEIC/HEIF/AVIF photos (the iPhone camera's default).
            self = .heif
        } else {
            self = .unknown
        }
    }

    /// The core decodes these itself (applying EXIF orientation).
    public var coreDecodes: Bool {
        switch self {
        case .jpeg, .png, .webp, .gif, .bmp: true
        case .heif, .unknown: false
        }
    }
}

/// Turns a photo's bytes into what the core takes. Formats the core reads go to
/// it as they are (it applies orientation and resizes exactly); HEIC, and any
/// photo much larger than the model needs (a 48 MP frame decodes to 145 MB),
/// are decoded by the platform to RGBA at most `maxPixelSize` a side. The model
/// sees 196 or 384 px; 2048 keeps five times that for the bicubic downscale, the
/// kept original and the screen.
public struct PicturePreparer: Sendable {
    public static let maxPixelSize = 2048
    /// Larger files the core could decode are still shrunk first: its decoder
    /// would hold the full frame in memory next to the model.
    public static let passThroughLimit = 4096

    private let decoder: any PictureDecoding

    public init(decoder: any PictureDecoding) { self.decoder = decoder }

    public func prepare(_ data: Data) throws -> Picture {
        let format = PictureFormat(sniffing: data)
        if format.coreDecodes, let size = decoder.pixelSize(of: data),
            max(size.width, size.height) <= Self.passThroughLimit
        {
            return .encoded(data)
        }
        guard format != .unknown || decoder.pixelSize(of: data) != nil else {
            throw Problem(.imageUnusable("The file is not a picture Imp can read."), while: .encodingPicture)
        }
        return try decoder.decodeRGBA(data, maxPixelSize: Self.maxPixelSize)
    }
}
