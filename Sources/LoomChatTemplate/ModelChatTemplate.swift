import Foundation
import LoomFormats

/// Why a model's chat template could not be loaded. Every case names the file.
public enum ChatTemplateLoadError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String)
    case invalidJSON(path: String, JinjaJSON.ParseError)
    /// A field has the wrong JSON type (`chat_template` must be a string or a list of
    /// `{"name", "template"}` objects).
    case wrongType(path: String, field: String, expected: String)
    case noChatTemplate(path: String)
    /// The model has several named templates, none called `name` (or no default).
    case noTemplateNamed(path: String, name: String?, available: [String])
    /// A template's Jinja could not be parsed.
    case invalidTemplate(path: String, name: String, ChatTemplateError)
    /// The GGUF file could not be read.
    case invalidGGUF(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotRead(path): return "\(path): cannot read the file"
        case let .invalidJSON(path, error): return "\(path): \(error)"
        case let .wrongType(path, field, expected): return "\(path): field '\(field)' must be \(expected)"
        case let .noChatTemplate(path): return "\(path): no 'chat_template' (and no chat_template.jinja beside it)"
        case let .noTemplateNamed(path, name, available):
            let list = available.joined(separator: ", ")
            if let name { return "\(path): no chat template named '\(name)' (available: \(list))" }
            return "\(path): several chat templates and no 'default' (available: \(list)); choose one by name"
        case let .invalidTemplate(path, name, error): return "\(path): chat template '\(name)': \(error)"
        case let .invalidGGUF(path, reason):
            return "\(path): \(reason)"
        }
    }
}

/// The chat templates and special tokens of a model directory, as transformers loads them:
/// `chat_template.jinja` if present, else `chat_template` from tokenizer_config.json (a string,
/// or a list of named templates), and `bos_token` / `eos_token` (strings or
/// `{"content": ...}` objects).
public struct ModelChatTemplate: Sendable {
    /// Template sources by name; a single template is named "default".
    public let templates: [String: String]
    public let bosToken: String?
    public let eosToken: String?
    /// The file the templates came from, for error messages.
    public let path: String

    public init(templates: [String: String], bosToken: String?, eosToken: String?, path: String) {
        self.templates = templates
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.path = path
    }

    /// Loads from a Hugging Face model directory or a `.gguf` file.
    public static func load(model: String) throws -> ModelChatTemplate {
        if model.hasSuffix(".gguf") { return try loadGGUF(path: model) }
        let directory = URL(fileURLWithPath: model)
        let configPath = directory.appendingPathComponent("tokenizer_config.json").path
        let jinjaPath = directory.appendingPathComponent("chat_template.jinja").path
        var config = JinjaDict()
        if FileManager.default.fileExists(atPath: configPath) {
            guard case .dict(let d) = try readJSON(configPath) else {
                throw ChatTemplateLoadError.wrongType(path: configPath, field: "(top level)", expected: "an object")
            }
            config = d
        }
        let bos = try specialToken(config, "bos_token", configPath)
        let eos = try specialToken(config, "eos_token", configPath)
        if FileManager.default.fileExists(atPath: jinjaPath) {
            guard let source = try? String(contentsOfFile: jinjaPath, encoding: .utf8) else {
                throw ChatTemplateLoadError.cannotRead(path: jinjaPath)
            }
            return ModelChatTemplate(templates: ["default": source], bosToken: bos, eosToken: eos, path: jinjaPath)
        }
        guard FileManager.default.fileExists(atPath: configPath) else { throw ChatTemplateLoadError.cannotRead(path: configPath) }
        var templates: [String: String] = [:]
        switch config["chat_template"] {
        case .string(let s)?:
            templates["default"] = s
        case .array(let items)?:
            for item in items {
                guard case .dict(let d) = item, case .string(let name)? = d["name"], case .string(let source)? = d["template"] else {
                    throw ChatTemplateLoadError.wrongType(path: configPath, field: "chat_template",
                                                          expected: "a string or a list of {\"name\", \"template\"} objects")
                }
                templates[name] = source
            }
        case nil, .none?:
            throw ChatTemplateLoadError.noChatTemplate(path: configPath)
        default:
            throw ChatTemplateLoadError.wrongType(path: configPath, field: "chat_template",
                                                  expected: "a string or a list of {\"name\", \"template\"} objects")
        }
        return ModelChatTemplate(templates: templates, bosToken: bos, eosToken: eos, path: configPath)
    }

    /// A GGUF model's `tokenizer.chat_template`, with the BOS and EOS tokens looked up in
    /// `tokenizer.ggml.tokens` by their ids.
    static func loadGGUF(path: String) throws -> ModelChatTemplate {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch {
            throw ChatTemplateLoadError.invalidGGUF(path: path, reason: "\(error)")
        }
        do {
            guard let source = try file.string("tokenizer.chat_template") else {
                throw ChatTemplateLoadError.noChatTemplate(path: path)
            }
            let tokens = try file.strings("tokenizer.ggml.tokens") ?? []
            func token(_ key: String) throws -> String? {
                guard let id = try file.integer(key), id >= 0, id < tokens.count else { return nil }
                return tokens[id]
            }
            return ModelChatTemplate(templates: ["default": source], bosToken: try token("tokenizer.ggml.bos_token_id"),
                                     eosToken: try token("tokenizer.ggml.eos_token_id"), path: path)
        } catch let error as ChatTemplateLoadError {
            throw error
        } catch {
            throw ChatTemplateLoadError.invalidGGUF(path: path, reason: "\(error)")
        }
    }

    /// Picks a template the way transformers' `get_chat_template` does: the named one, else
    /// "tool_use" when tools are given, else "default".
    public func template(named name: String? = nil, hasTools: Bool = false) throws -> ChatTemplate {
        let available = templates.keys.sorted()
        let chosen: String
        if let name {
            guard templates[name] != nil else { throw ChatTemplateLoadError.noTemplateNamed(path: path, name: name, available: available) }
            chosen = name
        } else if templates.count == 1, let only = templates.keys.first {
            chosen = only
        } else if hasTools, templates["tool_use"] != nil {
            chosen = "tool_use"
        } else if templates["default"] != nil {
            chosen = "default"
        } else {
            throw ChatTemplateLoadError.noTemplateNamed(path: path, name: nil, available: available)
        }
        do {
            return try ChatTemplate(source: templates[chosen]!)
        } catch let error as ChatTemplateError {
            throw ChatTemplateLoadError.invalidTemplate(path: path, name: chosen, error)
        }
    }

    /// Reads and parses a JSON file, with errors that name it.
    public static func readJSON(_ path: String) throws -> JinjaValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ChatTemplateLoadError.cannotRead(path: path) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ChatTemplateLoadError.invalidJSON(path: path, JinjaJSON.ParseError(message: "not UTF-8 text", offset: 0))
        }
        do {
            return try JinjaJSON.parse(text)
        } catch let error as JinjaJSON.ParseError {
            throw ChatTemplateLoadError.invalidJSON(path: path, error)
        }
    }

    private static func specialToken(_ config: JinjaDict, _ field: String, _ path: String) throws -> String? {
        switch config[field] {
        case nil, .none?: return nil
        case .string(let s)?: return s
        case .dict(let d)?:
            if case .string(let s)? = d["content"] { return s }
            fallthrough
        default:
            throw ChatTemplateLoadError.wrongType(path: path, field: field, expected: "a string or an object with 'content'")
        }
    }
}
