import Foundation
import ImpAppFakes
import ImpKit
@testable import PictureInbox
import XCTest

@testable import ImpAppLogic

final class PictureTests: XCTestCase {
    func testFormatsAreKnownByTheirFirstBytes() {
        let cases: [([UInt8], PictureFormat)] = [
            ([0xFF, 0xD8, 0xFF, 0xE0], .jpeg),
            ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A], .png),
            (Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBP".utf8), .webp),
            (Array("GIF89a".utf8), .gif),
            (Array("BM".utf8) + [0, 0], .bmp),
            ([0, 0, 0, 0x18] + Array("ftypheic".utf8), .heif),
            (Array("hello".utf8), .unknown),
            ([], .unknown),
        ]
        for (bytes, format) in cases {
            XCTAssertEqual(PictureFormat(sniffing: Data(bytes)), format, "\(bytes)")
        }
        XCTAssertTrue(PictureFormat.jpeg.coreDecodes)
        XCTAssertFalse(PictureFormat.heif.coreDecodes)
    }

    func testTheCoreGetsWhatItReadsAndThePlatformDecodesTheRest() throws {
        let decoder = FakePictureDecoder()
        let preparer = PicturePreparer(decoder: decoder)
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 1])
        let huge = Data([0xFF, 0xD8, 0xFF, 0xE0, 2])
        let heic = Data([0, 0, 0, 0x18] + Array("ftypheic".utf8))
        decoder.sizes.mutate {
            $0[jpeg] = (4032, 3024)
            $0[huge] = (8064, 6048)
            $0[heic] = (4032, 3024)
        }
        guard case .encoded(let passed) = try preparer.prepare(jpeg) else { return XCTFail("a 12 MP JPEG goes as is") }
        XCTAssertEqual(passed, jpeg)
        guard case .rgba = try preparer.prepare(huge) else { return XCTFail("a 48 MP JPEG is shrunk first") }
        guard case .rgba = try preparer.prepare(heic) else { return XCTFail("HEIC is decoded by the platform") }
        XCTAssertEqual(decoder.decoded.current.map(\.maxPixelSize), [2048, 2048])
        XCTAssertThrowsError(try preparer.prepare(Data("text".utf8))) { error in
            XCTAssertEqual((error as? Problem)?.kind, .pictureUnusable)
        }
    }

    func testOriginalsKeepEncodedBytesAndShrinkRGBA() throws {
        let originals = OriginalPictures(directory: temporaryDirectory())
        XCTAssertEqual(OriginalPictures.keptRGBASide, 768)
        XCTAssertEqual(OriginalPictures.shrink(width: 1600, height: 4, pixels: Data(count: 1600 * 4 * 4)).width,
                       533, "the longer side ends at most 768")
        XCTAssertTrue(originals.keep(.encoded(Data([1, 2, 3])), for: "a"))
        guard case .encoded(let bytes) = originals.picture(for: "a") else { return XCTFail() }
        XCTAssertEqual(bytes, Data([1, 2, 3]))

        // An 800x600 gradient: kept at 400x300 (2x2 blocks averaged).
        let (w, h) = (800, 600)
        var pixels = Data(count: w * h * 4)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 4
                pixels[i] = UInt8(x % 256)
                pixels[i + 1] = UInt8(y % 256)
                pixels[i + 2] = 7
                pixels[i + 3] = 255
            }
        }
        XCTAssertTrue(originals.keep(.rgba(width: UInt32(w), height: UInt32(h), pixels: pixels), for: "b"))
        guard case .rgba(let kw, let kh, let kept) = originals.picture(for: "b") else { return XCTFail() }
        XCTAssertEqual([kw, kh], [400, 300])
        XCTAssertEqual(kept.count, 400 * 300 * 4)
        XCTAssertEqual(Array(kept[0..<4]), [0, 0, 7, 255], "mean of x 0-1 (0.5 -> 0), y 0-1")
        let i = (10 * 400 + 20) * 4  // block at x 40-41, y 20-21
        XCTAssertEqual(Array(kept[i..<i + 4]), [40, 20, 7, 255])

        originals.prune(keeping: ["b"])
        XCTAssertNil(originals.picture(for: "a"))
        XCTAssertNotNil(originals.picture(for: "b"))
        originals.remove("b")
        XCTAssertNil(originals.picture(for: "b"))
        XCTAssertFalse(originals.keep(.file("/no/such/file"), for: "c"))
    }

    func testTheInboxHandsOverTheNewestFreshPictureOnce() throws {
        let inbox = PictureInbox(directory: temporaryDirectory())
        XCTAssertNil(inbox.takeNewest())
        let now = Date()
        try inbox.deposit(Data([1]), now: now.addingTimeInterval(-60))
        try inbox.deposit(Data([2]), now: now.addingTimeInterval(-10))
        XCTAssertEqual(inbox.takeNewest(now: now), Data([2]))
        XCTAssertNil(inbox.takeNewest(now: now), "taken, and the older one cleared")
        try inbox.deposit(Data([3]), now: now.addingTimeInterval(-PictureInbox.freshness - 1))
        XCTAssertNil(inbox.takeNewest(now: now), "stale")
        XCTAssertThrowsError(try inbox.deposit(Data())) { XCTAssertEqual($0 as? PictureInbox.DepositError, .empty) }
        XCTAssertThrowsError(try inbox.deposit(Data(count: PictureInbox.maxBytes + 1))) {
            XCTAssertEqual($0 as? PictureInbox.DepositError, .tooLarge)
        }
    }

    /// The share extension hands over the file the system wrote: checked for
    /// size before reading, copied a piece at a time, and moved in whole.
    func testTheExtensionsFileIsCopiedInPiecesAndTooLargeOnesAreRefusedUnread() throws {
        let folder = temporaryDirectory()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let inbox = PictureInbox(directory: folder.appendingPathComponent("SharedPictures"))
        let photo = folder.appendingPathComponent("shared.heic")
        let bytes = Data((0..<(3 * PictureInbox.copyChunkBytes + 123)).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try bytes.write(to: photo)
        try inbox.deposit(fileAt: photo)
        XCTAssertEqual(inbox.takeNewest(), bytes, "every byte, across pieces")
        let incoming = folder.appendingPathComponent("SharedPictures-incoming")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: incoming.path), [], "no partial left")

        // Larger than the cap (a sparse file: its size is known without reading it).
        let huge = folder.appendingPathComponent("huge.heic")
        XCTAssertTrue(FileManager.default.createFile(atPath: huge.path, contents: nil))
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: UInt64(PictureInbox.maxBytes + 1))
        try handle.close()
        XCTAssertThrowsError(try inbox.deposit(fileAt: huge)) {
            XCTAssertEqual($0 as? PictureInbox.DepositError, .tooLarge)
        }
        let empty = folder.appendingPathComponent("empty.heic")
        try Data().write(to: empty)
        XCTAssertThrowsError(try inbox.deposit(fileAt: empty)) {
            XCTAssertEqual($0 as? PictureInbox.DepositError, .empty)
        }
        XCTAssertThrowsError(try inbox.deposit(fileAt: folder.appendingPathComponent("gone.heic")))
        XCTAssertNil(inbox.takeNewest(), "nothing refused was deposited")
    }

    /// The app group's id is written once (Signing.xcconfig) and read from the
    /// Info.plist by both targets.
    func testTheAppGroupComesFromTheInfoPlist() {
        XCTAssertEqual(PictureInbox.appGroup(in: ["ImpAppGroup": "group.org.example.imp"]), "group.org.example.imp")
        XCTAssertNil(PictureInbox.appGroup(in: [:]))
        XCTAssertNil(PictureInbox.appGroup(in: nil))
        XCTAssertNil(PictureInbox.appGroup(in: ["ImpAppGroup": "$(IMP_APP_GROUP)"]), "a setting never expanded")
        XCTAssertNil(PictureInbox.appGroup(in: ["ImpAppGroup": "org.example.imp"]), "not a group id")
    }

    func testSizesAreWrittenAndSpokenPlainly() {
        XCTAssertEqual(ByteSize.text(2_400_000_000), "2.4 GB")
        XCTAssertEqual(ByteSize.text(850_000_000), "850 MB")
        XCTAssertEqual(ByteSize.text(999), "999 bytes")
        XCTAssertEqual(ByteSize.spoken(2_750_000_000), "2.8 gigabytes")
        XCTAssertEqual(ByteSize.percent(done: 600, of: 2400), 25)
        XCTAssertNil(ByteSize.percent(done: 600, of: nil))
        XCTAssertEqual(SpokenText.sentences(["What is this?", "Answer: A cup.", " Imp 3B ", ""]),
                       "What is this? Answer: A cup. Imp 3B.")
    }
}
