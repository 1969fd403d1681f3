// llama-logits: llama.cpp's logits for every position of one token sequence, as raw float32.
//
//   llama-logits MODEL.gguf OUT.f32 [--threads N] [--f16-cache] TOKEN...
//
// One sequence, one batch, every row's logits requested; the KV cache is f32 (or f16 with
// --f16-cache) and flash attention off, so the result is llama.cpp's plain reference path.
// OUT holds [tokens, vocab] little-endian float32, row-major. Built by tools/llamacpp/build-logits
// against the static libraries of tools/llamacpp/build; Loom's tests compare with what it writes.
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static void quiet(enum ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf OUT.f32 [--threads N] [--f16-cache] TOKEN...\n", argv[0]);
        return 2;
    }
    int threads = 2;
    bool f16Cache = false;
    std::vector<llama_token> tokens;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) { threads = atoi(argv[++i]); continue; }
        if (strcmp(argv[i], "--f16-cache") == 0) { f16Cache = true; continue; }
        char * end = nullptr;
        long id = strtol(argv[i], &end, 10);
        if (*end != 0 || id < 0) { fprintf(stderr, "not a token id: %s\n", argv[i]); return 2; }
        tokens.push_back((llama_token) id);
    }
    if (tokens.empty()) { fprintf(stderr, "no tokens\n"); return 2; }
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(argv[1], mparams);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const int n = (int) tokens.size();
    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t) ((n + 255) / 256 * 256);
    cparams.n_batch = (uint32_t) n;
    cparams.n_ubatch = (uint32_t) n;
    cparams.n_threads = threads;
    cparams.n_threads_batch = threads;
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cparams.type_k = f16Cache ? GGML_TYPE_F16 : GGML_TYPE_F32;
    cparams.type_v = f16Cache ? GGML_TYPE_F16 : GGML_TYPE_F32;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }
    llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "llama_decode failed\n"); return 1; }
    const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    FILE * out = fopen(argv[2], "wb");
    if (!out) { fprintf(stderr, "cannot write %s\n", argv[2]); return 1; }
    for (int i = 0; i < n; i++) {
        const float * row = llama_get_logits_ith(ctx, i);
        if (!row || fwrite(row, sizeof(float), (size_t) vocab, out) != (size_t) vocab) { fprintf(stderr, "no logits for row %d\n", i); return 1; }
    }
    fclose(out);
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    fprintf(stderr, "%d rows of %d logits\n", n, vocab);
    return 0;
}
