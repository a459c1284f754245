import Foundation

let clientsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients").path
