#!/usr/bin/env python3
"""Drives a running `loom serve` with the official `openai` Python client (and raw HTTP where the
client hides what is checked), and prints one JSON object per check: {"check", "ok", "detail"}.

Tests/LoomCLITests/ServerTests.swift starts the server on a free loopback port and runs one group:

  openai_checks.py --base-url http://127.0.0.1:PORT --group api|cache|concurrency|disconnect|auth|shutdown|soak|embeddings
                   [--loom PATH] [--server-pid PID] [--api-key KEY] [--golden DIR]

The oracles: the `openai` client's own parsing of every response and stream (its pydantic models),
the server's answers to the same request asked another way (streamed against whole, alone against
among others), `loom generate` run as a separate process on the same prompt, and for embeddings the
sentence-transformers vectors in Tests/Fixtures/embeddings/minilm (--golden).
"""
import argparse
import json
import re
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback

import httpx2 as httpx
import openai

MODEL = "loom-demo"
STORY = "Once upon a time there was a little fox who lived in the forest."


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--loom", help="the loom binary, for checks that compare with `loom generate`")
    p.add_argument("--server-pid", type=int)
    p.add_argument("--api-key", default="none")
    p.add_argument("--golden", help="embeddings group: the sentence-transformers fixture directory")
    p.add_argument("--expect-format", type=int, help="tools group: which scripted reply the model writes (0 Hermes, 1 Llama 3.x, 2 Mistral)")
    return p.parse_args()


ARGS = parse()
BASE = ARGS.base_url
CLIENT = openai.OpenAI(base_url=BASE + "/v1", api_key=ARGS.api_key, max_retries=0, timeout=120)
HEADERS = {"Authorization": f"Bearer {ARGS.api_key}"}
RESULTS = []


def check(name):
    """Runs the decorated function as a check; an exception or a failed assert fails it."""
    def wrap(fn):
        try:
            detail = fn()
            RESULTS.append({"check": name, "ok": True, "detail": detail or ""})
        except Exception as e:  # every failure is reported, not raised: the other checks still run
            RESULTS.append({"check": name, "ok": False, "detail": f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"})
        print(json.dumps(RESULTS[-1]), flush=True)
        return fn
    return wrap


def post(path, body=None, content=None, headers=None):
    h = dict(HEADERS)
    h.update(headers or {})
    return httpx.post(BASE + path, json=body, content=content, headers=h, timeout=120)


def chat(messages, **kw):
    return CLIENT.chat.completions.create(model=MODEL, messages=messages, **kw)


def user(text):
    return [{"role": "user", "content": text}]


def slots():
    return httpx.get(BASE + "/slots", headers=HEADERS, timeout=30).json()


def wait_idle(seconds=5.0):
    """Waits until no request is in the scheduler and no page is referenced; returns /slots."""
    end = time.time() + seconds
    while True:
        s = slots()
        if not s["slots"] and s["pages"]["referenced"] == 0:
            return s
        if time.time() > end:
            raise AssertionError(f"the scheduler is not idle after {seconds} s: {s}")
        time.sleep(0.02)


def expect_error(fn, cls, status, param=None, contains=None):
    try:
        fn()
    except cls as e:
        assert e.status_code == status, f"status {e.status_code}, expected {status}"
        body = e.body if isinstance(e.body, dict) else {}
        err = body.get("error", body)
        if param is not None:
            assert err.get("param") == param, f"param {err.get('param')!r}, expected {param!r}: {err}"
        if contains is not None:
            for part in contains:
                assert part in err.get("message", ""), f"{part!r} not in {err.get('message')!r}"
        return err.get("message")
    raise AssertionError(f"no {cls.__name__}")


# ---------------------------------------------------------------------------------------------
def group_api():
    @check("models lists the served model")
    def _():
        ids = [m.id for m in CLIENT.models.list().data]
        assert ids == [MODEL], ids

    whole = {}

    @check("chat completion: whole response, usage adds up and counts the rendered prompt")
    def _():
        r = chat(user(STORY), max_tokens=16, temperature=0)
        c = r.choices[0]
        assert c.message.role == "assistant" and isinstance(c.message.content, str)
        assert c.finish_reason in ("stop", "length"), c.finish_reason
        assert r.usage.completion_tokens <= 16 and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
        prompt = post("/apply-template", {"messages": user(STORY)}).json()["prompt"]
        ids = post("/tokenize", {"content": prompt}).json()["tokens"]
        assert r.usage.prompt_tokens == len(ids), (r.usage.prompt_tokens, len(ids))
        whole["chat"] = r
        return f"{r.usage.prompt_tokens} prompt tokens, reply {c.message.content!r}"

    @check("chat completion: the stream's deltas are the whole response")
    def _():
        stream = chat(user(STORY), max_tokens=16, temperature=0, stream=True)
        chunks = list(stream)
        assert chunks[0].choices[0].delta.role == "assistant"
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        finish = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
        w = whole["chat"].choices[0]
        assert text == w.message.content, (text, w.message.content)
        assert finish == [w.finish_reason], finish
        assert len({ch.id for ch in chunks}) == 1

    @check("text completion: stream equals whole, and both equal `loom generate --temp 0`")
    def _():
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=20, temperature=0)
        streamed = "".join(ch.choices[0].text for ch in CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=20,
                                                                                   temperature=0, stream=True) if ch.choices)
        assert streamed == r.choices[0].text, (streamed, r.choices[0].text)
        if ARGS.loom:
            out = subprocess.run([ARGS.loom, "generate", "--prompt", STORY, "--max-tokens", "20", "--temp", "0", "--no-echo"],
                                 capture_output=True, text=True, check=True).stdout
            assert out.rstrip("\n") == r.choices[0].text.rstrip("\n"), (out, r.choices[0].text)
        return repr(r.choices[0].text)

    @check("max_tokens ends with finish_reason length and exactly that many tokens")
    def _():
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=7, temperature=0, extra_body={"ignore_eos": True})
        assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 7, r

    @check("stop strings end the reply before the stop string")
    def _():
        base = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=32, temperature=0, extra_body={"ignore_eos": True})
        text = base.choices[0].text
        stop = next((text[i:i + 3] for i in range(6, len(text) - 3) if text[i:i + 3].strip() == text[i:i + 3]), None)
        assert stop, f"no stop candidate in {text!r}"
        for stops in ([stop], stop):
            r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=32, temperature=0, stop=stops,
                                          extra_body={"ignore_eos": True})
            assert r.choices[0].text == text[:text.index(stop)], (r.choices[0].text, text, stop)
            assert r.choices[0].finish_reason == "stop"
        return f"stop {stop!r}"

    @check("chat logprobs: one entry per token, the greedy choice is the most likely, bytes spell the content")
    def _():
        r = chat(user(STORY), max_tokens=12, temperature=0, logprobs=True, top_logprobs=3, extra_body={"ignore_eos": True})
        content = r.choices[0].logprobs.content
        assert len(content) == r.usage.completion_tokens == 12
        for t in content:
            assert len(t.top_logprobs) == 3 and t.logprob <= 0
            assert t.top_logprobs[0].token == t.token and abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6
            assert t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob
        spelled = bytes(b for t in content for b in t.bytes).decode("utf-8", errors="replace")
        assert spelled == r.choices[0].message.content, (spelled, r.choices[0].message.content)

    @check("text completion logprobs: tokens spell the text, offsets follow them")
    def _():
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=10, temperature=0, logprobs=2, extra_body={"ignore_eos": True})
        lp = r.choices[0].logprobs
        assert "".join(lp.tokens) == r.choices[0].text
        assert len(lp.token_logprobs) == 10 and all(x <= 0 for x in lp.token_logprobs)
        assert all(len(t) <= 2 for t in lp.top_logprobs)
        assert lp.text_offset == sorted(lp.text_offset) and lp.text_offset[0] == 0
        assert lp.text_offset == [len("".join(lp.tokens[:i])) for i in range(len(lp.tokens))], lp.text_offset

    @check("streamed text completion logprobs: offsets count from the start of the text across chunks, as the whole response's")
    def _():
        kw = dict(model=MODEL, prompt=STORY, max_tokens=10, temperature=0, logprobs=2, extra_body={"ignore_eos": True})
        whole = CLIENT.completions.create(**kw).choices[0].logprobs
        tokens, offsets = [], []
        for chunk in CLIENT.completions.create(stream=True, **kw):
            lp = chunk.choices[0].logprobs if chunk.choices else None
            if lp is not None:
                tokens += lp.tokens
                offsets += lp.text_offset
        assert tokens == whole.tokens, (tokens, whole.tokens)
        assert offsets == whole.text_offset, (offsets, whole.text_offset)

    @check("streamed logprobs match the whole response's")
    def _():
        kw = dict(max_tokens=10, temperature=0, logprobs=True, top_logprobs=2, extra_body={"ignore_eos": True})
        w = chat(user(STORY), **kw).choices[0].logprobs.content
        s = [t for ch in chat(user(STORY), stream=True, **kw) if ch.choices and ch.choices[0].logprobs
             for t in ch.choices[0].logprobs.content]
        assert [(t.token, round(t.logprob, 5)) for t in s] == [(t.token, round(t.logprob, 5)) for t in w]

    @check("stream_options.include_usage sends usage in a last chunk without choices")
    def _():
        chunks = list(chat(user(STORY), max_tokens=5, temperature=0, stream=True, stream_options={"include_usage": True}))
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens <= 5
        assert all(ch.usage is None for ch in chunks[:-1])
        assert chunks[-1].usage.prompt_tokens_details.cached_tokens >= 0

    @check("seeded sampling repeats exactly")
    def _():
        kw = dict(max_tokens=24, temperature=1.0, top_p=1.0, extra_body={"top_k": 0, "min_p": 0, "ignore_eos": True})
        a = CLIENT.completions.create(model=MODEL, prompt=STORY, seed=1234, **kw).choices[0].text
        b = CLIENT.completions.create(model=MODEL, prompt=STORY, seed=1234, **kw).choices[0].text
        assert a == b, (a, b)

    @check("logit_bias -100 bans the greedy token and +100 forces a token")
    def _():
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=1, temperature=0, logprobs=0)
        first = r.choices[0].logprobs.tokens[0]
        first_id = post("/tokenize", {"content": first, "parse_special": False}).json()["tokens"]
        assert len(first_id) == 1, first_id
        banned = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=1, temperature=0, logprobs=0,
                                           logit_bias={str(first_id[0]): -100})
        assert banned.choices[0].logprobs.tokens[0] != first
        forced_id = post("/tokenize", {"content": " the"}).json()["tokens"][-1]
        forced = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=3, temperature=0, logprobs=0,
                                           logit_bias={str(forced_id): 100}, extra_body={"ignore_eos": True})
        piece = post("/detokenize", {"tokens": [forced_id]}).json()["content"]
        assert forced.choices[0].logprobs.tokens == [piece] * 3, forced.choices[0].logprobs.tokens

    @check("the extras llama-server users send are accepted (top_k, min_p, typical_p, repeat_penalty, DRY, XTC, banned_strings, min_tokens)")
    def _():
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=16, temperature=0.7, seed=7, extra_body={
            "top_k": 20, "min_p": 0.1, "typical_p": 0.9, "repeat_penalty": 1.1, "repeat_last_n": 32, "dry_multiplier": 0.8,
            "dry_base": 1.75, "dry_allowed_length": 2, "xtc_probability": 0.5, "xtc_threshold": 0.1,
            "banned_strings": ["the"], "min_tokens": 4, "presence_penalty": 0.5, "frequency_penalty": 0.5})
        assert "the" not in r.choices[0].text and r.usage.completion_tokens >= 4, r

    @check("response_format json_object and json_schema give replies that parse and follow the schema")
    def _():
        anything = chat(user("Write JSON."), max_tokens=300, temperature=1.0, seed=3, response_format={"type": "json_object"})
        assert anything.choices[0].finish_reason == "stop", anything
        json.loads(anything.choices[0].message.content)
        schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10},
                                                   "age": {"type": "integer", "minimum": 0, "maximum": 120}},
                  "required": ["name", "age"], "additionalProperties": False}
        for seed in range(5):
            r = chat(user("A person, as JSON."), max_tokens=300, temperature=1.0, seed=seed,
                     response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}})
            value = json.loads(r.choices[0].message.content)
            assert set(value) == {"name", "age"} and isinstance(value["name"], str) and len(value["name"]) <= 10, value
            assert isinstance(value["age"], int) and 0 <= value["age"] <= 120, value
        streamed = "".join(c.choices[0].delta.content or "" for c in chat(
            user("A person, as JSON."), max_tokens=300, temperature=1.0, seed=1, stream=True,
            response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}) if c.choices)
        whole = chat(user("A person, as JSON."), max_tokens=300, temperature=1.0, seed=1,
                     response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}})
        assert streamed == whole.choices[0].message.content, (streamed, whole.choices[0].message.content)

    @check("grammar (GBNF) and regex extras constrain text completions; bad ones are 400s naming the field")
    def _():
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=40, temperature=1.0, seed=5,
                                      extra_body={"grammar": 'root ::= ("yes" | "no") ", " [a-z]{2,5} "."'})
        assert re.fullmatch(r"(yes|no), [a-z]{2,5}\.", r.choices[0].text), r.choices[0].text
        assert r.choices[0].finish_reason == "stop"
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=40, temperature=1.0, seed=6,
                                      extra_body={"regex": "[0-9]{3}-[0-9]{4}"})
        assert re.fullmatch(r"[0-9]{3}-[0-9]{4}", r.choices[0].text), r.choices[0].text
        expect_error(lambda: CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=4, extra_body={"grammar": "root ::= undefined"}),
                     openai.BadRequestError, 400, param="grammar", contains=["undefined"])
        expect_error(lambda: chat(user("hi"), max_tokens=4, response_format={"type": "json_schema", "json_schema": {
            "name": "x", "schema": {"type": "object", "patternProperties": {"a": {}}}}}),
                     openai.BadRequestError, 400, param="response_format.json_schema.schema", contains=["patternProperties"])
        expect_error(lambda: chat(user("hi"), max_tokens=4, response_format={"type": "xml"}),
                     openai.BadRequestError, 400, param="response_format.type")

    @check("prompt lookup (lookup, draft_max) gives the same tokens, and usage counts the accepted proposals")
    def _():
        text = "In the beginning God made the heaven and the earth. " * 3
        kw = dict(model=MODEL, prompt=text, max_tokens=48, temperature=0, extra_body={"ignore_eos": True})
        plain = CLIENT.completions.create(**kw)
        kw["extra_body"] = {"ignore_eos": True, "lookup": 3, "draft_max": 6}
        fast = CLIENT.completions.create(**kw)
        assert fast.choices[0].text == plain.choices[0].text, (fast.choices[0].text, plain.choices[0].text)
        details = fast.usage.completion_tokens_details
        assert details.accepted_prediction_tokens > 0, fast.usage
        assert plain.usage.completion_tokens_details.accepted_prediction_tokens == 0, plain.usage
        expect_error(lambda: CLIENT.completions.create(model=MODEL, prompt=text, max_tokens=4, extra_body={"draft_max": 4}),
                     openai.BadRequestError, 400, param="draft_max")

    @check("n other than 1 is refused, naming n")
    def _():
        expect_error(lambda: chat(user("hi"), n=2, max_tokens=2), openai.BadRequestError, 400, param="n")

    @check("a field of the wrong type is a 400 naming it")
    def _():
        expect_error(lambda: chat(user("hi"), temperature="hot"), openai.BadRequestError, 400, param="temperature")
        expect_error(lambda: chat([{"role": "user"}]), openai.BadRequestError, 400, param="messages[0].content")
        expect_error(lambda: chat([{"role": "wizard", "content": "x"}]), openai.BadRequestError, 400, param="messages[0].role")
        expect_error(lambda: CLIENT.chat.completions.create(model=MODEL, messages=[]), openai.BadRequestError, 400, param="messages")
        expect_error(lambda: chat(user("hi"), top_logprobs=2), openai.BadRequestError, 400, param="top_logprobs")
        expect_error(lambda: chat(user("hi"), logit_bias={"999999": 1}), openai.BadRequestError, 400)

    @check("bad JSON is a 400 that says where")
    def _():
        r = post("/v1/chat/completions", content=b'{"messages": [', headers={"content-type": "application/json"})
        err = r.json()["error"]
        assert r.status_code == 400 and err["type"] == "invalid_request_error" and "byte" in err["message"], r.text

    @check("a prompt longer than the context is a 400 that gives both numbers")
    def _():
        context = CLIENT.models.list().data[0].model_extra["meta"]["n_ctx"]
        long = " ".join(["fox"] * (context + 100))
        n = len(post("/tokenize", {"content": long}).json()["tokens"])
        msg = expect_error(lambda: CLIENT.completions.create(model=MODEL, prompt=long, max_tokens=4), openai.BadRequestError, 400,
                           param="prompt", contains=[str(n), str(context)])
        return msg

    @check("unknown endpoints are 404, wrong methods 405, oversized bodies 413, all OpenAI-shaped")
    def _():
        r = httpx.get(BASE + "/v1/nothing", headers=HEADERS)
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error", r.text
        r = httpx.get(BASE + "/v1/chat/completions", headers=HEADERS)
        assert r.status_code == 405 and "error" in r.json(), r.text
        r = post("/v1/completions", content=b'{"prompt": "' + b"a" * (9 << 20) + b'"}', headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large", r.text

    @check("tokenize and detokenize round-trip; apply-template renders the chat template")
    def _():
        ids = post("/tokenize", {"content": "Hello 世界"}).json()["tokens"]
        assert post("/detokenize", {"tokens": ids}).json()["content"] == "Hello 世界"
        pieces = post("/tokenize", {"content": "Hello", "with_pieces": True}).json()["tokens"]
        assert "".join(p["piece"] for p in pieces) == "Hello"
        prompt = post("/apply-template", {"messages": user("hi")}).json()["prompt"]
        assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", repr(prompt)

    @check("health is ok, metrics count what was served, and nothing is left in the scheduler")
    def _():
        assert httpx.get(BASE + "/health").json() == {"status": "ok"}
        s = wait_idle()
        assert s["pages"]["free"] + s["pages"]["cached"] == s["pages"]["total"], s
        text = httpx.get(BASE + "/metrics").text
        generated = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("loom_generated_tokens_total")]
        assert generated and generated[0] > 0, text[:2000]
        assert 'loom_requests_total{endpoint="/v1/chat/completions",status="200"}' in text


# ---------------------------------------------------------------------------------------------
SYSTEM = " ".join(f"Rule {i}: the fox keeps to the path and greets every traveller politely." for i in range(1, 60))


def group_cache():
    counts = {}

    @check("a long shared system prompt is evaluated once: the second request reuses it after another came between")
    def _():
        n = len(post("/tokenize", {"content": SYSTEM}).json()["tokens"])
        counts["system"] = n
        first = chat([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Where is the fox?"}], max_tokens=4, temperature=0)
        chat(user("Something else entirely, about rivers and stones."), max_tokens=4, temperature=0)
        second = chat([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Who does it greet?"}], max_tokens=4, temperature=0)
        c1 = first.usage.prompt_tokens_details.cached_tokens
        c2 = second.usage.prompt_tokens_details.cached_tokens
        page = slots()["pages"]["page_tokens"]
        assert n > 1000, n
        assert c2 >= (n // page) * page - page and c2 <= second.usage.prompt_tokens, (c1, c2, n)
        counts["cached"] = c2
        return f"system prompt {n} tokens; cached on the first request {c1}, on the second {c2}"

    @check("cache_salt isolates tenants: another salt finds nothing, the same salt finds its own")
    def _():
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Where is the path?"}]
        a = chat(msgs, max_tokens=2, temperature=0, extra_body={"cache_salt": "tenant-a"})
        b = chat(msgs, max_tokens=2, temperature=0, extra_body={"cache_salt": "tenant-a"})
        assert a.usage.prompt_tokens_details.cached_tokens == 0, a.usage
        assert b.usage.prompt_tokens_details.cached_tokens >= counts.get("cached", 1000) - 64, b.usage
        c = chat(msgs, max_tokens=2, temperature=0, extra_body={"cache_salt": "tenant-b"})
        assert c.usage.prompt_tokens_details.cached_tokens == 0, c.usage


# ---------------------------------------------------------------------------------------------
def greedy_text(i, stream):
    prompt = f"Story {i}: " + " ".join(["the fox"] * (3 + 5 * i))
    if stream:
        return "".join(ch.choices[0].text for ch in CLIENT.completions.create(
            model=MODEL, prompt=prompt, max_tokens=24, temperature=0, stream=True, extra_body={"ignore_eos": True}) if ch.choices)
    return CLIENT.completions.create(model=MODEL, prompt=prompt, max_tokens=24, temperature=0, extra_body={"ignore_eos": True}).choices[0].text


def group_concurrency():
    @check("16 clients at once get exactly what each gets alone (greedy, through HTTP)")
    def _():
        alone = [greedy_text(i, stream=False) for i in range(16)]
        together = [None] * 16
        def run(i):
            together[i] = greedy_text(i, stream=i % 2 == 0)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bad = [i for i in range(16) if together[i] != alone[i]]
        assert not bad, [(i, alone[i], together[i]) for i in bad]
        wait_idle()


# ---------------------------------------------------------------------------------------------
def group_disconnect():
    @check("a client that disconnects mid-stream frees its pages within a step; the server still answers")
    def _():
        with httpx.stream("POST", BASE + "/v1/completions", headers=HEADERS, timeout=60,
                          json={"prompt": STORY, "max_tokens": 1500, "temperature": 0, "ignore_eos": True, "stream": True}) as r:
            lines = 0
            for line in r.iter_lines():
                if line.startswith("data: "):
                    lines += 1
                if lines >= 3:
                    break
        busy = slots()
        start = time.time()
        s = wait_idle(2.0)
        took = time.time() - start
        r = CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=3, temperature=0)
        assert r.choices[0].text is not None
        assert httpx.get(BASE + "/health").status_code == 200
        metrics = httpx.get(BASE + "/metrics").text
        gone = [float(l.split()[-1]) for l in metrics.splitlines() if l.startswith("loom_client_disconnects_total")]
        assert gone and gone[0] >= 1, gone
        return f"idle {took * 1000:.0f} ms after the hang-up (slots then: {len(busy['slots'])}); pages {s['pages']}"

    @check("a client that hangs up before its whole (non-streamed) reply is done cancels it too")
    def _():
        try:
            httpx.post(BASE + "/v1/completions", headers=HEADERS, timeout=0.3,
                       json={"prompt": STORY, "max_tokens": 1800, "temperature": 0, "ignore_eos": True})
        except httpx.TimeoutException:
            pass
        wait_idle(3.0)


# ---------------------------------------------------------------------------------------------
def group_auth():
    @check("without a key the API is 401; a bearer key or x-api-key is accepted; /health stays open")
    def _():
        none = openai.OpenAI(base_url=BASE + "/v1", api_key="wrong", max_retries=0)
        expect_error(lambda: none.models.list(), openai.AuthenticationError, 401)
        r = httpx.get(BASE + "/v1/models")
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error", r.text
        assert [m.id for m in CLIENT.models.list().data] == [MODEL]
        r = httpx.get(BASE + "/v1/models", headers={"x-api-key": ARGS.api_key})
        assert r.status_code == 200, r.text
        assert httpx.get(BASE + "/health").status_code == 200

    @check("/metrics wants the metrics key when one is set")
    def _():
        assert httpx.get(BASE + "/metrics").status_code == 401
        assert httpx.get(BASE + "/metrics", headers={"Authorization": "Bearer metrics-secret"}).status_code == 200


# ---------------------------------------------------------------------------------------------
def group_shutdown():
    @check("SIGTERM during 8 streams: short ones finish, long ones are cancelled, every stream ends with [DONE]")
    def _():
        outcomes = [None] * 8
        started = threading.Barrier(9, timeout=60)
        def run(i):
            long = i % 2 == 1
            body = {"prompt": f"{STORY} {i}", "max_tokens": 1800 if long else 10, "temperature": 0, "ignore_eos": True, "stream": True}
            finish, done, tokens, first = None, False, 0, True
            with httpx.stream("POST", BASE + "/v1/completions", headers=HEADERS, json=body, timeout=60) as r:
                for line in r.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    if first:
                        first = False
                        started.wait()
                    if line == "data: [DONE]":
                        done = True
                        continue
                    event = json.loads(line[6:])
                    if event.get("choices"):
                        finish = event["choices"][0]["finish_reason"] or finish
                        tokens += 1
            outcomes[i] = (long, finish, done, tokens)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        started.wait()
        os.kill(ARGS.server_pid, signal.SIGTERM)
        for t in threads:
            t.join(60)
        for long, finish, done, tokens in outcomes:
            assert done and finish is not None, outcomes
            if not long:
                assert finish == "length", outcomes
        return str(outcomes)


# ---------------------------------------------------------------------------------------------
def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def group_soak():
    @check("1,000 requests (random lengths, 10% cancelled mid-stream, 5% malformed): pages all released, RSS steady, still answering")
    def _():
        rng = random.Random(20261203)
        plan = []
        for i in range(1000):
            kind = "malformed" if rng.random() < 0.05 else ("cancel" if rng.random() < 0.10 else "normal")
            plan.append((i, kind, rng.randint(1, 200), rng.randint(1, 48), rng.random() < 0.5))
        lock = threading.Lock()
        tally = {"normal": 0, "cancel": 0, "malformed": 0, "bad": []}
        rss = {}
        queue = list(plan)

        def one(i, kind, words, max_tokens, stream):
            prompt = f"{i} " + " ".join(rng_words(i, words))
            if kind == "malformed":
                bodies = [b'{"prompt": ', b'{"prompt": 5}', b'[1, 2]', b'{"prompt": "x", "max_tokens": -3}',
                          b'{"prompt": "x", "temperature": "warm"}', b'\xff\xfe']
                r = post("/v1/completions", content=bodies[i % len(bodies)], headers={"content-type": "application/json"})
                ok = r.status_code == 400 and "error" in r.json()
            elif kind == "cancel":
                with httpx.stream("POST", BASE + "/v1/completions", headers=HEADERS, timeout=60,
                                  json={"prompt": prompt, "max_tokens": 400, "temperature": 0.8, "seed": i, "stream": True,
                                        "ignore_eos": True}) as r:
                    n = 0
                    for line in r.iter_lines():
                        n += line.startswith("data: ")
                        if n >= 2:
                            break
                ok = r.status_code == 200
            else:
                body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "seed": i, "ignore_eos": True}
                if stream:
                    body["stream"] = True
                    with httpx.stream("POST", BASE + "/v1/completions", headers=HEADERS, json=body, timeout=120) as r:
                        lines = [l for l in r.iter_lines() if l.startswith("data: ")]
                    ok = r.status_code == 200 and lines[-1] == "data: [DONE]"
                else:
                    r = post("/v1/completions", body)
                    ok = r.status_code == 200 and r.json()["usage"]["completion_tokens"] == max_tokens
            with lock:
                tally[kind] += 1
                if not ok:
                    tally["bad"].append((i, kind))

        def worker():
            while True:
                with lock:
                    if not queue:
                        return
                    item = queue.pop(0)
                    done = 1000 - len(queue)
                one(*item)
                if done == 100:
                    rss["after 100"] = rss_kib(ARGS.server_pid)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s = wait_idle(10)
        rss["after 1000"] = rss_kib(ARGS.server_pid)
        assert not tally["bad"], tally["bad"][:20]
        assert s["pages"]["free"] + s["pages"]["cached"] == s["pages"]["total"] and s["pages"]["referenced"] == 0, s
        base = rss.get("after 100") or rss["after 1000"]
        # Under AddressSanitizer (tools/sanitize) freed memory waits in its quarantine and the
        # resident set grows by design: the pages are still checked, the RSS is only reported.
        sanitized = "ASAN_OPTIONS" in os.environ
        if not sanitized:
            assert rss["after 1000"] <= base * 1.05, rss
        assert CLIENT.completions.create(model=MODEL, prompt=STORY, max_tokens=2).choices
        return (f"{tally['normal']} normal, {tally['cancel']} cancelled, {tally['malformed']} malformed; RSS KiB {rss}"
                + (" (not compared: AddressSanitizer)" if sanitized else ""))


def rng_words(seed, n):
    words = ["fox", "river", "stone", "path", "tree", "light", "song", "wind", "house", "bread", "山", "水", "风"]
    r = random.Random(seed)
    return [r.choice(words) for _ in range(n)]

# ---------------------------------------------------------------------------------------------
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                                                      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "The time in a zone.",
                                      "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}},
]
WEATHER = ("get_weather", {"city": "Paris", "unit": "celsius"})
TIME = ("get_time", {"zone": "Europe/Paris"})
# What each scripted reply means in OpenAI's terms: (content, calls); the replies are in ToolCallServerTests.swift.
EXPECTED = {0: ("Let me look.", [WEATHER, TIME]), 1: (None, [WEATHER]), 2: (None, [WEATHER, TIME])}


def group_tools():
    content, calls = EXPECTED[ARGS.expect_format]
    messages = user("What is the weather in Paris, and the time there?")
    model = CLIENT.models.list().data[0].id
    whole = {}

    @check("tool calls in a whole response: names, arguments, ids, finish_reason tool_calls")
    def _():
        r = CLIENT.chat.completions.create(model=model, messages=messages, tools=TOOLS, max_tokens=200)
        m = r.choices[0].message
        assert r.choices[0].finish_reason == "tool_calls", r
        assert (m.content or None) == content, m.content
        got = [(c.function.name, json.loads(c.function.arguments)) for c in m.tool_calls]
        assert got == calls, got
        assert all(c.type == "function" and c.id for c in m.tool_calls) and len({c.id for c in m.tool_calls}) == len(calls)
        whole["message"] = m
        return [c.id for c in m.tool_calls]

    @check("tool calls streamed as deltas add up to the whole response")
    def _():
        stream = CLIENT.chat.completions.create(model=model, messages=messages, tools=TOOLS, max_tokens=200, stream=True)
        text, acc, finish = "", {}, None
        for ch in stream:
            if not ch.choices:
                continue
            d = ch.choices[0].delta
            text += d.content or ""
            for tc in d.tool_calls or []:
                entry = acc.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
                if tc.id:
                    assert entry["id"] is None, "a call's id came twice"
                    entry["id"] = tc.id
                if tc.function and tc.function.name:
                    entry["name"] = tc.function.name
                if tc.function and tc.function.arguments:
                    entry["arguments"] += tc.function.arguments
            finish = ch.choices[0].finish_reason or finish
        assert finish == "tool_calls", finish
        assert (text or None) == content, text
        got = [(acc[i]["name"], json.loads(acc[i]["arguments"])) for i in sorted(acc)]
        assert got == calls, got
        assert all(acc[i]["id"] for i in acc)

    @check("parallel_tool_calls false: only the first call, whole and streamed; a non-boolean is a 400 naming it")
    def _():
        kw = dict(model=model, messages=messages, tools=TOOLS, max_tokens=200, parallel_tool_calls=False)
        r = CLIENT.chat.completions.create(**kw)
        got = [(c.function.name, json.loads(c.function.arguments)) for c in r.choices[0].message.tool_calls]
        assert got == calls[:1] and r.choices[0].finish_reason == "tool_calls", (got, r.choices[0].finish_reason)
        indices, finish = set(), None
        for ch in CLIENT.chat.completions.create(stream=True, **kw):
            if ch.choices:
                indices |= {tc.index for tc in ch.choices[0].delta.tool_calls or []}
                finish = ch.choices[0].finish_reason or finish
        assert indices == {0} and finish == "tool_calls", (indices, finish)
        # True (the default) keeps every call.
        r = CLIENT.chat.completions.create(**{**kw, "parallel_tool_calls": True})
        assert [c.function.name for c in r.choices[0].message.tool_calls] == [c[0] for c in calls]
        expect_error(lambda: CLIENT.chat.completions.create(model=model, messages=messages, tools=TOOLS,
                                                            extra_body={"parallel_tool_calls": "no"}),
                     openai.BadRequestError, 400, param="parallel_tool_calls")

    @check("the calls and their results go back into the template for the next turn")
    def _():
        m = whole["message"]
        follow = messages + [{"role": "assistant", "content": m.content,
                              "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
                                             for c in m.tool_calls]}]
        for c in m.tool_calls:
            follow.append({"role": "tool", "tool_call_id": c.id, "content": json.dumps({"ok": True})})
        prompt = post("/apply-template", {"messages": follow, "tools": TOOLS}).json()
        assert "prompt" in prompt and "Paris" in prompt["prompt"], prompt
        r = CLIENT.chat.completions.create(model=model, messages=follow, tools=TOOLS, max_tokens=200)
        assert r.choices[0].finish_reason in ("tool_calls", "stop"), r

    @check("tool_choice none renders no tools and parses nothing: the reply is text")
    def _():
        r = CLIENT.chat.completions.create(model=model, messages=messages, tools=TOOLS, tool_choice="none", max_tokens=200)
        assert r.choices[0].message.tool_calls in (None, []) and r.choices[0].finish_reason == "stop", r
        assert "get_weather" in r.choices[0].message.content

    @check("tool_choice naming an unknown function is a 400 naming tool_choice")
    def _():
        expect_error(lambda: CLIENT.chat.completions.create(model=model, messages=messages, tools=TOOLS,
                                                            tool_choice={"type": "function", "function": {"name": "nope"}}),
                     openai.BadRequestError, 400, param="tool_choice")


# ---------------------------------------------------------------------------------------------
def group_embeddings():
    import array
    import base64
    import math

    meta = json.load(open(os.path.join(ARGS.golden, "sentences.json"), encoding="utf-8"))
    width = meta["embeddings"]["shape"][1]
    raw = array.array("f")
    raw.frombytes(open(os.path.join(ARGS.golden, "embeddings.f32"), "rb").read())
    reference = [raw[i * width:(i + 1) * width] for i in range(meta["embeddings"]["shape"][0])]
    sentences = meta["sentences"]
    encoder = "all-MiniLM-L6-v2"

    def cosine(a, b):
        dot = sum(x * y for x, y in zip(a, b))
        return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    picked = list(range(0, len(sentences), 7))
    texts = [sentences[i]["text"] for i in picked]
    first = {}

    @check("models lists the generation model and the sentence encoder")
    def _():
        ids = [m.id for m in CLIENT.models.list().data]
        assert ids == [MODEL, encoder], ids

    @check("embeddings (the client's default base64) match sentence-transformers, usage counts the tokens")
    def _():
        r = CLIENT.embeddings.create(model=encoder, input=texts)
        assert [d.index for d in r.data] == list(range(len(texts)))
        worst = min(cosine(d.embedding, reference[i]) for d, i in zip(r.data, picked))
        assert worst >= 0.99999, worst
        assert all(len(d.embedding) == width for d in r.data)
        tokens = sum(len(sentences[i]["ids"]) for i in picked)
        assert r.usage.prompt_tokens == tokens and r.usage.total_tokens == tokens, (r.usage, tokens)
        assert r.model == encoder
        first["vectors"] = [d.embedding for d in r.data]
        return f"{len(texts)} sentences, worst cosine {worst:.7f}, {tokens} tokens"

    @check("encoding_format float gives the same float32 values as base64")
    def _():
        r = post("/v1/embeddings", {"model": encoder, "input": texts[:5], "encoding_format": "float"}).json()
        b = post("/v1/embeddings", {"model": encoder, "input": texts[:5], "encoding_format": "base64"}).json()
        for f, e in zip(r["data"], b["data"]):
            decoded = array.array("f")
            decoded.frombytes(base64.b64decode(e["embedding"]))
            assert array.array("f", f["embedding"]) == decoded
        assert [array.array("f", d["embedding"]).tolist() for d in r["data"]] == [array.array("f", v).tolist() for v in first["vectors"][:5]]

    @check("a string, a list of one, and its token ids embed alike")
    def _():
        s = sentences[picked[3]]
        one = CLIENT.embeddings.create(model=encoder, input=s["text"]).data[0].embedding
        listed = CLIENT.embeddings.create(model=encoder, input=[s["text"]]).data[0].embedding
        by_ids = CLIENT.embeddings.create(model=encoder, input=s["ids"][1:-1]).data[0].embedding
        nested = CLIENT.embeddings.create(model=encoder, input=[s["ids"][1:-1], s["ids"][1:-1]]).data
        assert one == listed == by_ids == nested[0].embedding == nested[1].embedding

    @check("bad embedding requests are 400s naming the field")
    def _():
        for body, param in [({"model": encoder}, "input"), ({"input": []}, "input"), ({"input": [[5, 99999999]]}, "input[0][1]"),
                            ({"input": [3.5]}, "input[0]"), ({"input": "x", "dimensions": 10}, "dimensions"),
                            ({"input": "x", "encoding_format": "int8"}, "encoding_format"), ({"input": "x", "model": "nope"}, "model"),
                            ({"input": ["x"] * 2049}, "input")]:
            r = post("/v1/embeddings", body)
            assert r.status_code == 400, (body, r.status_code, r.text)
            assert r.json()["error"]["param"] == param, (body, r.json())

    @check("a chat completion streamed while embeddings run gets what it gets alone")
    def _():
        alone = chat(user(STORY), max_tokens=24, temperature=0).choices[0].message.content
        results = {}

        def embed_many():
            results["embed"] = CLIENT.embeddings.create(model=encoder, input=[s["text"] for s in sentences[:120]])

        worker = threading.Thread(target=embed_many)
        worker.start()
        together = chat(user(STORY), max_tokens=24, temperature=0).choices[0].message.content
        worker.join()
        assert together == alone, (together, alone)
        worst = min(cosine(d.embedding, reference[i]) for i, d in enumerate(results["embed"].data))
        assert worst >= 0.99999, worst


REQUIRED_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": {
        "type": "object", "properties": {"city": {"enum": ["Paris", "Oslo"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
        "required": ["city", "days"], "additionalProperties": False}}},
    {"type": "function", "function": {"name": "get_time", "description": "Time in a zone.", "parameters": {
        "type": "object", "properties": {"zone": {"enum": ["UTC", "CET"]}}, "required": ["zone"], "additionalProperties": False}}},
]


def valid_required_call(call):
    """Whether a call's arguments are an instance of its tool's parameters (enums, integer bounds, no extras)."""
    args = json.loads(call.function.arguments)
    if call.function.name == "get_weather":
        return set(args) == {"city", "days"} and args["city"] in ("Paris", "Oslo") and isinstance(args["days"], int) and 1 <= args["days"] <= 7
    if call.function.name == "get_time":
        return set(args) == {"zone"} and args["zone"] in ("UTC", "CET")
    return False


def group_required():
    """A scripted model that answers in text: tool_choice required or named must still give a call
    (Hermes/Qwen, Llama 3.x and Mistral)."""
    model = CLIENT.models.list().data[0].id
    messages = user("What is the weather in Paris?")

    # Mistral's calls begin with the control token [TOOL_CALLS]: it ends the prompt, the grammar
    # writes the array after it, and the parser is given the marker first.
    @check("tool_choice auto: the model answers in text, no calls")
    def _():
        r = CLIENT.chat.completions.create(model=model, messages=messages, tools=REQUIRED_TOOLS, max_tokens=100)
        assert r.choices[0].message.tool_calls is None and r.choices[0].finish_reason == "stop", r
        assert r.choices[0].message.content, r

    @check("tool_choice required: the reply is a call to one of the tools, its arguments an instance of the tool's parameters")
    def _():
        for seed in range(4):
            r = CLIENT.chat.completions.create(model=model, messages=messages, tools=REQUIRED_TOOLS, tool_choice="required",
                                               max_tokens=200, temperature=1.0, seed=seed)
            calls = r.choices[0].message.tool_calls
            assert r.choices[0].finish_reason == "tool_calls" and calls and len(calls) == 1, r
            assert valid_required_call(calls[0]), calls[0]

    @check("a named tool_choice calls that function, streamed as deltas too")
    def _():
        choice = {"type": "function", "function": {"name": "get_time"}}
        r = CLIENT.chat.completions.create(model=model, messages=messages, tools=REQUIRED_TOOLS, tool_choice=choice, max_tokens=200)
        calls = r.choices[0].message.tool_calls
        assert calls and [c.function.name for c in calls] == ["get_time"] and valid_required_call(calls[0]), r
        names, arguments = [], ""
        for chunk in CLIENT.chat.completions.create(model=model, messages=messages, tools=REQUIRED_TOOLS, tool_choice=choice,
                                                    max_tokens=200, stream=True):
            for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                if delta.function.name:
                    names.append(delta.function.name)
                arguments += delta.function.arguments or ""
        assert names == ["get_time"] and json.loads(arguments) == json.loads(calls[0].function.arguments), (names, arguments)

    @check("tool_choice required with response_format is a 400 naming tool_choice")
    def _():
        expect_error(lambda: CLIENT.chat.completions.create(model=model, messages=messages, tools=REQUIRED_TOOLS, tool_choice="required",
                                                            response_format={"type": "json_object"}, max_tokens=10),
                     openai.BadRequestError, 400, param="tool_choice")


def group_draft():
    """The server was started with --draft: greedy text is the same with the draft and without it
    (lookup 0 turns speculation off), usage counts accepted proposals, and seeded sampling repeats."""
    text = "In the beginning God made the heaven and the earth. " * 3

    @check("a draft model gives greedy completions their exact text, and usage counts its accepted proposals")
    def _():
        kw = dict(model=MODEL, prompt=text, max_tokens=48, temperature=0, extra_body={"ignore_eos": True})
        drafted = CLIENT.completions.create(**kw)
        kw["extra_body"] = {"ignore_eos": True, "lookup": 0}
        alone = CLIENT.completions.create(**kw)
        assert drafted.choices[0].text == alone.choices[0].text, (drafted.choices[0].text, alone.choices[0].text)
        assert drafted.usage.completion_tokens_details.accepted_prediction_tokens > 0, drafted.usage
        assert alone.usage.completion_tokens_details.accepted_prediction_tokens == 0, alone.usage

    @check("sampled requests with the draft repeat for a seed, and draft_max applies to the draft")
    def _():
        kw = dict(model=MODEL, prompt="The people of the city", max_tokens=32, temperature=1.0, seed=11,
                  extra_body={"ignore_eos": True, "draft_max": 3})
        a, b = CLIENT.completions.create(**kw), CLIENT.completions.create(**kw)
        assert a.choices[0].text == b.choices[0].text, (a.choices[0].text, b.choices[0].text)
        assert a.usage.completion_tokens == 32

    @check("/slots and /metrics show the draft's page pool, and a finished request holds none of its pages")
    def _():
        idle = wait_idle()
        draft = idle.get("draft_pages")
        assert draft is not None, idle
        assert draft["total"] > 0 and draft["referenced"] == 0, draft
        assert draft["free"] + draft["cached"] == draft["total"], draft
        # While a long request drafts, it holds draft pages.
        with CLIENT.completions.create(model=MODEL, prompt=text, max_tokens=200, temperature=0, stream=True,
                                       extra_body={"ignore_eos": True}) as stream:
            held = 0
            for i, _chunk in enumerate(stream):
                if i == 20:
                    held = slots()["draft_pages"]["referenced"]
            assert held > 0, "no draft page was held mid-request"
        metrics = httpx.get(BASE + "/metrics").text
        values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.splitlines()
                  if line.startswith("loom_draft_kv_pages")}
        assert values.get("loom_draft_kv_pages") == draft["total"], values
        assert "loom_draft_kv_pages_referenced" in values, values
        assert wait_idle()["draft_pages"]["referenced"] == 0


GROUPS = {"api": group_api, "required": group_required, "draft": group_draft, "embeddings": group_embeddings, "cache": group_cache, "concurrency": group_concurrency, "disconnect": group_disconnect,
          "auth": group_auth, "shutdown": group_shutdown, "soak": group_soak,
          "tools": group_tools}

def wait_health(seconds=60.0):
    """The server listens before its model is loaded: wait for /health to say it is ready."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            if httpx.get(BASE + "/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{BASE}/health did not answer 200 within {seconds} s")


if __name__ == "__main__":
    wait_health()
    GROUPS[ARGS.group]()
    sys.exit(0 if all(r["ok"] for r in RESULTS) else 1)
