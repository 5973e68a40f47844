import CoreGraphics
import Foundation
import ImageIO
import ImpAppLogic
import ImpKit

/// HEIC (and oversized photos) decoded with ImageIO into the 8-bit RGBA rows
/// `Picture.rgba` takes, orientation applied, downsampled while decoding.
struct ImageIOPictureDecoder: PictureDecoding {
    func pixelSize(of data: Data) -> (width: Int, height: Int)? {
        guard let source = CGImageSourceCreateWithData(data as CFData, nil),
            let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any],
            let width = properties[kCGImagePropertyPixelWidth] as? Int,
            let height = properties[kCGImagePropertyPixelHeight] as? Int
        else { return nil }
        // EXIF orientations 5-8 turn the picture a quarter.
        let orientation = properties[kCGImagePropertyOrientation] as? UInt32 ?? 1
        return orientation >= 5 ? (height, width) : (width, height)
    }

    func decodeRGBA(_ data: Data, maxPixelSize: Int) throws -> Picture {
        let options: [CFString: Any] = [
            kCGImageSourceCreateThumbnailFromImageAlways: true,
            kCGImageSourceCreateThumbnailWithTransform: true,  // applies the EXIF orientation
            kCGImageSourceThumbnailMaxPixelSize: maxPixelSize,
            kCGImageSourceShouldCacheImmediately: true,
        ]
        guard let source = CGImageSourceCreateWithData(data as CFData, nil),
            let image = CGImageSourceCreateThumbnailAtIndex(source, 0, options as CFDictionary),
            let sRGB = CGColorSpace(name: CGColorSpace.sRGB)
        else {
            throw Problem(.imageUnusable("This photo's format could not be read."), while: .encodingPicture)
        }
        let (width, height) = (image.width, image.height)
        var pixels = Data(count: width * height * 4)
        let drawn = pixels.withUnsafeMutableBytes { buffer -> Bool in
            guard let context = CGContext(
                data: buffer.baseAddress, width: width, height: height, bitsPerComponent: 8,
                bytesPerRow: width * 4, space: sRGB,
                bitmapInfo: CGImageAlphaInfo.premultipliedLast.rawValue | CGBitmapInfo.byteOrder32Big.rawValue)
            else { return false }
            // Transparency composited onto white, as the core does for PNGs;
            // every pixel is then opaque, so premultiplied equals straight RGBA.
            context.setFillColor(CGColor(red: 1, green: 1, blue: 1, alpha: 1))
            context.fill(CGRect(x: 0, y: 0, width: width, height: height))
            context.draw(image, in: CGRect(x: 0, y: 0, width: width, height: height))
            return true
        }
        guard drawn else {
            throw Problem(.imageUnusable("This photo could not be decoded."), while: .encodingPicture)
        }
        return .rgba(width: UInt32(width), height: UInt32(height), pixels: pixels)
    }
}
