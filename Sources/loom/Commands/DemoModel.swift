import Foundation

/// The small trained model committed with the package (Models/loom-demo, see its MODEL_CARD.md),
/// used when a command is given no `--model`. It is found beside the sources, so `swift run`
/// from a fresh clone needs no download.
enum DemoModel {
    static let path: String = {
        URL(fileURLWithPath: #filePath)            // Sources/loom/Commands/DemoModel.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Models/loom-demo/hf").path
    }()
}
