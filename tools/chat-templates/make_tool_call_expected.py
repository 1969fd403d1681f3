#!/usr/bin/env python3
"""Renders llama.cpp's chat templates with jinja2 for an OpenAI-style conversation with tool
calls, and writes Tests/LoomGenerateTests/Fixtures/tool-call-templates-expected.json.

The conversation is what an OpenAI client sends: assistant `tool_calls` whose
`function.arguments` are JSON strings and whose `content` is null, then `role: tool` results.
Each template that mentions tool_calls is rendered twice, the way llama.cpp prepares messages:
  - "object_arguments": null content -> "", arguments parsed with json.loads (order kept);
  - "string_arguments": null content -> "", arguments left as strings.
Loom's ToolCallTemplateInput picks one of the two per template; its rendering must equal the
jinja2 rendering of the one it picked, byte for byte (or raise where jinja2 raised).

Run tools/fixtures/fetch-templates first, then, with jinja2 and transformers installed:
    python tools/chat-templates/make_tool_call_expected.py
"""
import copy
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_expected import ROOT, TEMPLATES, TIME_TOOL, WEATHER_TOOL, provenance, render  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "LoomGenerateTests", "Fixtures", "tool-call-templates-expected.json")

# Ids of nine characters: Mistral's templates reject any other length.
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the weather in Paris, and the time there?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call12345", "type": "function",
         "function": {"name": "get_weather", "arguments": "{\"unit\": \"celsius\", \"city\": \"Paris\", \"days\": 2}"}},
        {"id": "call67890", "type": "function",
         "function": {"name": "get_time", "arguments": "{\"tz\": \"Europe/Paris\"}"}},
    ]},
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"temperature\": 21.5, \"sky\": \"sunny\"}"},
    {"role": "tool", "tool_call_id": "call67890", "content": "14:05"},
    {"role": "assistant", "content": "It is sunny, 21.5 °C, and 14:05 in Paris."},
    {"role": "user", "content": "Danke! Und in Köln?"},
]
TOOLS = [WEATHER_TOOL, TIME_TOOL]
ADD_GENERATION_PROMPT = True


def prepared(messages, object_arguments):
    """llama.cpp's preparation of OpenAI messages for a template (common/chat.cpp)."""
    result = copy.deepcopy(messages)
    for message in result:
        if "tool_calls" in message:
            if message.get("content") is None:
                message["content"] = ""
            if object_arguments:
                for call in message["tool_calls"]:
                    call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    return result


def outcome(source, messages):
    try:
        return {"output": render(source, messages, TOOLS, ADD_GENERATION_PROMPT)}
    except Exception as e:  # jinja2 raised: Loom must raise too
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    paths = [p for p in sorted(glob.glob(os.path.join(TEMPLATES, "*.jinja")))
             if "tool_calls" in open(p, encoding="utf-8").read()]
    if not paths:
        sys.exit("no templates in .fixtures/templates: run tools/fixtures/fetch-templates")
    cases = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        cases.append({
            "template": os.path.basename(path),
            "object_arguments": outcome(source, prepared(MESSAGES, True)),
            "string_arguments": outcome(source, prepared(MESSAGES, False)),
        })
    doc = {
        **provenance("tools/chat-templates/make_tool_call_expected.py", paths),
        "messages": MESSAGES,
        "tools": TOOLS,
        "add_generation_prompt": ADD_GENERATION_PROMPT,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    raised = sum("error" in c["object_arguments"] for c in cases), sum("error" in c["string_arguments"] for c in cases)
    print(f"{len(cases)} templates; raise with object arguments: {raised[0]}, with string arguments: {raised[1]}")


if __name__ == "__main__":
    main()
