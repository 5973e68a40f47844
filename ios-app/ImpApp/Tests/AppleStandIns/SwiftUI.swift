// Stand-in for SwiftUI, imported by an adapter that uses nothing of it but
// what it re-exports from Apple's Foundation (see AVFoundation.swift here).
@_exported import Foundation  // as Apple's frameworks do

// Apple's Foundation has these; the open-source Foundation on Linux does not.
extension URL {
    public func startAccessingSecurityScopedResource() -> Bool { true }
    public func stopAccessingSecurityScopedResource() {}
}
