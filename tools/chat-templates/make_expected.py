#!/usr/bin/env python3
"""Renders every llama.cpp chat template with jinja2 exactly as transformers'
apply_chat_template does, for a fixed set of conversations, and writes the results to
Tests/LoomChatTemplateTests/Fixtures/chat-templates-expected.json.

The Swift chat-template engine must reproduce each rendering byte for byte, or raise where
jinja2 raised. Run tools/fixtures/fetch-templates first; run this with the shared venv:
    /work/venv/bin/python tools/chat-templates/make_expected.py
"""
import datetime
import glob
import hashlib
import json
import os
import sys

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from feature_cases import CTX as FEATURE_CONTEXT, FEATURES  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(ROOT, ".fixtures", "templates")
OUT = os.path.join(ROOT, "Tests", "LoomChatTemplateTests", "Fixtures", "chat-templates-expected.json")

# strftime_now is fixed in both engines so that renderings are deterministic.
FIXED_NOW = datetime.datetime(2025, 1, 15, 12, 0, 0)
BOS, EOS = "<s>", "</s>"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "description": "Forecast days"},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a timezone.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER1 = {"role": "user", "content": "Hello! Can you say \"hi\" in German?"}
ASSISTANT1 = {"role": "assistant", "content": "Hallo! Grüße aus Köln 🌍."}
USER2 = {"role": "user", "content": "Now 2+2? Answer with 'four' or\n  a number."}
ASSISTANT2 = {"role": "assistant", "content": "  4  "}
USER3 = {"role": "user", "content": "Thanks. 谢谢!"}

TOOL_CALL = {
    "id": "call12345",
    "type": "function",
    "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}},
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
               "content": "{\"temperature\": 21.5, \"sky\": \"sunny\"}"}

# name -> (messages, tools, add_generation_prompt)
CONVERSATIONS = {
    "system_user_assistant": ([SYSTEM, USER1, ASSISTANT1], None, False),
    "user_generation_prompt": ([USER1], None, True),
    "multi_turn": ([SYSTEM, USER1, ASSISTANT1, USER2, ASSISTANT2, USER3], None, True),
    "multi_turn_no_system": ([USER1, ASSISTANT1, USER2, ASSISTANT2], None, False),
    "content_parts": ([{"role": "user", "content": [{"type": "text", "text": "Describe this."}]}], None, True),
    "tools_prompt": ([SYSTEM, {"role": "user", "content": "Weather in Paris?"}],
                     [WEATHER_TOOL, TIME_TOOL], True),
    "tool_calls": ([SYSTEM, {"role": "user", "content": "Weather in Paris?"},
                    {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
                    TOOL_RESULT,
                    {"role": "assistant", "content": "It is sunny and 21.5 °C in Paris."}],
                   [WEATHER_TOOL, TIME_TOOL], False),
}


def render(source, messages, tools, add_generation_prompt):
    # The same path as tokenizer.apply_chat_template(..., tokenize=False): message
    # normalisation, then render_jinja_template with the special tokens as extra context.
    compiled = ctu._compile_jinja_template(source)
    compiled.environment.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    conversation = ctu._normalize_chat_messages(messages)
    rendered, _ = ctu.render_jinja_template(
        conversations=[conversation], tools=tools, chat_template=source,
        add_generation_prompt=add_generation_prompt, bos_token=BOS, eos_token=EOS)
    return rendered[0]


def render_feature(source):
    # The same environment, with a plain context instead of a conversation.
    compiled = ctu._compile_jinja_template(source)
    compiled.environment.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    return compiled.render(**FEATURE_CONTEXT)


def provenance(generator, paths):
    """The header of a rendering fixture: what made it, from which templates, in which setting."""
    with open(os.path.join(TEMPLATES, "SOURCE")) as f:
        source_package = f.read().strip()
    return {
        "generator": generator,
        "versions": {"jinja2": jinja2.__version__, "transformers": transformers.__version__,
                     "python": sys.version.split()[0]},
        "templates_source": source_package,
        "strftime_now": FIXED_NOW.isoformat(),
        "bos_token": BOS, "eos_token": EOS,
        "template_sha256": {os.path.basename(p): hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths},
    }


def main():
    paths = sorted(glob.glob(os.path.join(TEMPLATES, "*.jinja")))
    if not paths:
        sys.exit("no templates in .fixtures/templates: run tools/fixtures/fetch-templates")
    cases = []
    for path in paths:
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            source = f.read()
        for conv, (messages, tools, agp) in CONVERSATIONS.items():
            case = {"template": name, "conversation": conv}
            try:
                case["output"] = render(source, messages, tools, agp)
            except Exception as e:  # jinja2 raised: Loom must raise too
                case["error"] = f"{type(e).__name__}: {e}"
            cases.append(case)
    features = []
    for name, source in FEATURES:
        case = {"name": name, "template": source}
        try:
            case["output"] = render_feature(source)
        except Exception as e:
            case["error"] = f"{type(e).__name__}: {e}"
        features.append(case)
    doc = {
        **provenance("tools/chat-templates/make_expected.py", paths),
        "conversations": {k: {"messages": m, "tools": t, "add_generation_prompt": g}
                          for k, (m, t, g) in CONVERSATIONS.items()},
        "cases": cases,
        "feature_context": FEATURE_CONTEXT,
        "features": features,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    errors = sum("error" in c for c in cases)
    print(f"{len(paths)} templates x {len(CONVERSATIONS)} conversations: {len(cases)} cases, {errors} raise")
    print(f"{len(features)} feature cases, {sum('error' in c for c in features)} raise")


if __name__ == "__main__":
    main()
