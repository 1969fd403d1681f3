import Foundation
import FuzzSupport
import LoomChatTemplate
import LoomGenerate
import LoomRuntime
import LoomServer

// A request body as `loom serve` checks it before generating: the first byte picks the endpoint
// (even: /v1/chat/completions, odd: /v1/completions), the rest is the body. The demo model
// answers, with a ChatML template that renders tools (Hermes/Qwen calls), so tool_choice,
// required-call grammars, response_format schemas and every sampling field are reached.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let modelPath = root + "/Models/loom-demo/hf"
let files = try ModelFiles(path: modelPath)
let engine = try Engine(path: modelPath, options: EngineOptions(maxSequenceLength: 256, chunkTokens: 64, threads: 1))
let tokenizer = try Generator.loadTokenizer(files)
let generator = try Generator(model: engine, tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
let chatML = """
    {%- if tools %}<|im_start|>system
    # Tools
    <tools>{% for tool in tools %}{{ tool | tojson }}{% endfor %}</tools>
    For each call return <tool_call>{"name": ..., "arguments": ...}</tool_call><|im_end|>
    {% endif %}{%- for message in messages %}<|im_start|>{{ message.role }}
    {{ message.content }}{% if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>{{ call.function | tojson }}</tool_call>{% endfor %}{% endif %}<|im_end|>
    {% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
    {% endif %}
    """
let chat = ModelChatTemplate(templates: ["default": chatML], bosToken: nil, eosToken: "<|im_end|>", path: "fuzz")
let model = try ServedModel(name: "fuzz", generator: generator, engine: engine, chat: chat, toolCallFormatName: "hermes")

FuzzTarget.main { data in
    guard let first = data.first else { return }
    let endpoint: RequestCheck.Endpoint = first % 2 == 0 ? .chatCompletions : .completions
    if let problem = RequestCheck.problem(Array(data.dropFirst()), endpoint: endpoint, model: model) {
        // A bad request is a 4xx with a message; a 5xx would be the server's fault.
        precondition((400..<500).contains(problem.status) && !problem.message.isEmpty, "\(problem)")
    }
}
