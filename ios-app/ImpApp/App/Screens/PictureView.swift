import ImpKit
import SwiftUI
import UIKit

/// Shows a `Picture` whatever form it came in.
struct PictureView: View {
    let picture: Picture

    var body: some View {
        if let image = Self.image(picture) {
            Image(uiImage: image)
                .resizable()
                .scaledToFit()
                .clipShape(RoundedRectangle(cornerRadius: 12))
        } else {
            Image(systemName: "photo")
                .font(.largeTitle)
                .foregroundStyle(.secondary)
        }
    }

    static func image(_ picture: Picture) -> UIImage? {
        switch picture {
        case .encoded(let data): return UIImage(data: data)
        case .file(let path): return UIImage(contentsOfFile: path)
        case .rgba(let width, let height, let pixels):
            guard let provider = CGDataProvider(data: pixels as CFData),
                let image = CGImage(
                    width: Int(width), height: Int(height), bitsPerComponent: 8, bitsPerPixel: 32,
                    bytesPerRow: Int(width) * 4, space: CGColorSpace(name: CGColorSpace.sRGB)!,
                    bitmapInfo: CGBitmapInfo(rawValue: CGImageAlphaInfo.noneSkipLast.rawValue),
                    provider: provider, decode: nil, shouldInterpolate: true, intent: .defaultIntent)
            else { return nil }
            return UIImage(cgImage: image)
        }
    }
}
