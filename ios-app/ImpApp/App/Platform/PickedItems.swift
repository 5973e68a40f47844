import Foundation
import ImpAppLogic
import PhotosUI
import SwiftUI

/// A photo chosen in the system photo picker (which runs outside the app: no
/// photo library permission is needed to read what the person picked).
struct PickedPhoto: PhotoLibraryItem {
    let item: PhotosPickerItem

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
