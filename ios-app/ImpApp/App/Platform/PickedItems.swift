import Foundation
import ImpAppLogic
import PhotosUI
import SwiftUI

/// A photo chosen in the system photo picker (which runs outside the app: no
/// photo library permission is needed to read what the person picked).
/// A main-actor class, so that it may cross to the view model's tasks while
/// holding a `PhotosPickerItem`, which is not `Sendable`: the item never
/// leaves the main actor, only the loaded bytes do. (Checked with Swift 6.0.3
/// on Linux against a non-Sendable stand-in: a struct holding it is an error.)
@MainActor
final class PickedPhoto: PhotoLibraryItem {
    private let item: PhotosPickerItem

    init(item: PhotosPickerItem) {
        self.item = item
    }

    func loadData() async throws -> Data {
        // The file's own bytes (HEIC for most iPhone photos), not a re-encoding.
        guard let data = try await item.loadTransferable(type: Data.self) else {
            throw Problem(.imageUnusable("The photo could not be loaded from the library."), while: .encodingPicture)
        }
        return data
    }
}

/// A `.gguf` chosen in the Files app; readable only inside its security scope.
struct SecurityScopedFile: PickedFile {
    let url: URL

    var path: String { url.path(percentEncoded: false) }

    func startAccessing() -> Bool { url.startAccessingSecurityScopedResource() }

    func stopAccessing() { url.stopAccessingSecurityScopedResource() }
}
