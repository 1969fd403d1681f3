import Foundation
import FuzzSupport
import LoomChatTemplate

// A chat template: lexed, parsed and rendered over a small conversation with tools, under
// limits small enough that each input ends in milliseconds.
let messages = try! JinjaJSON.parse("""
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi <b>there</b> 😀"},
     {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]},
     {"role": "tool", "content": "42", "tool_call_id": "c1"}, {"role": "user", "content": ["a", {"type": "text", "text": "b"}]}]
    """)
let tools = try! JinjaJSON.parse("""
    [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}]
    """)
let limits = ChatTemplateLimits(steps: 20_000, depth: 100, outputBytes: 1 << 20, valueBytes: 1 << 20)

FuzzTarget.main { data in
    guard let source = String(data: data, encoding: .utf8), let template = try? ChatTemplate(source: source, limits: limits) else { return }
    _ = try? template.render(messages: messages, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", tools: tools,
                             now: Date(timeIntervalSince1970: 1_736_942_400))
}
