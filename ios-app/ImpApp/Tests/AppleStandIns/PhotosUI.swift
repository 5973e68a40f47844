// Stand-in for PhotosUI's PhotosPickerItem (see AVFoundation.swift here):
// declared not Sendable, which is what makes holding one in a Sendable value
// an error.
@_exported import Foundation  // as Apple's frameworks do

public struct PhotosPickerItem: Hashable {
    private let id = UUID()
    public func loadTransferable<T>(type: T.Type) async throws -> T? { nil }
}
