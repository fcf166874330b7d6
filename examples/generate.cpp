// generate — sample text from a train_tinylm checkpoint.
//
//   generate --ckpt DIR/ckpt.safetensors [--prompt "Once upon a time"] [--tokens 200]
//            [--temperature 0.8] [--top-k 40] [--seed 0] [--threads 2] [--samples 1]
//            [--tokenizer FILE] [--stop-at-eot]
//
// The checkpoint's metadata holds the model configuration and the tokenizer (train_tinylm
// stores both), so --ckpt is all it needs; --tokenizer overrides the stored one. Generation
// uses a key/value cache (nn/generate.hpp): after the prompt, each new token costs one
// single-token forward. Text is streamed to stdout as it is produced; a summary line
// (tokens/s) goes to stderr.
#include <omp.h>

#include <cstdio>
#include <string>

#include <bilin/bilin.hpp>
#include <bilin/train/lm_checkpoint.hpp>
#include <bilin/nn/generate.hpp>
#include <bilin/nn/transformer.hpp>

#include "lm_common.hpp"

using namespace bilin;

int main(int argc, char** argv) {
  lm::reexec_with_runtime_env(argv);
  try {
    lm::Args a(argc, argv);
    if (a.has("help")) {
      std::puts("usage: generate --ckpt FILE [--prompt TEXT] [--tokens 200] [--temperature 0.8] [--top-k 40] "
                "[--seed 0] [--threads 2] [--samples 1] [--tokenizer FILE] [--stop-at-eot]");
      return 0;
    }
    const std::string ckpt = a.str("ckpt", "");
    const std::string prompt = a.str("prompt", "Once upon a time");
    const index_t n_tokens = a.integer("tokens", 200);
    nn::SamplingOptions so;
    so.temperature = a.real("temperature", 0.8);
    so.top_k = a.integer("top-k", 40);
    so.seed = static_cast<std::uint64_t>(a.integer("seed", 0));
    const int threads = static_cast<int>(a.integer("threads", 2));
    const index_t samples = a.integer("samples", 1);
    const std::string tok_path = a.str("tokenizer", "");
    const bool stop_eot = a.flag("stop-at-eot");
    a.finish();
    BILIN_CHECK(!ckpt.empty(), "generate", "--ckpt FILE is required");
    BILIN_CHECK(n_tokens >= 0 && samples >= 1 && threads >= 1, "generate", "--tokens must be >= 0, --samples and --threads >= 1");
    omp_set_num_threads(threads);

    const auto cfg = train::read_lm_config(ckpt);
    const auto meta = io::read_checkpoint_metadata(ckpt);
    data::BpeTokenizer tok;
    if (!tok_path.empty()) {
      tok = data::BpeTokenizer::load(tok_path);
    } else {
      auto t = meta.find("tokenizer");
      BILIN_CHECK(t != meta.end(), "generate", ckpt, ": no tokenizer in the metadata; pass --tokenizer FILE");
      tok = data::BpeTokenizer::parse(t->second, ckpt + " (metadata 'tokenizer')");
    }
    BILIN_CHECK(static_cast<index_t>(tok.vocab_size()) <= cfg.vocab, "generate", "tokenizer has ", tok.vocab_size(),
                " ids but the model only ", cfg.vocab);
    Generator gen(0);
    nn::Transformer<float> model(cfg, gen);
    train::load_lm_checkpoint(ckpt, model);
    model.eval();

    const std::int64_t eot = static_cast<std::int64_t>(tok.special_id(data::kEndOfText));
    std::vector<std::int64_t> ids;
    for (auto t : tok.encode(prompt)) ids.push_back(static_cast<std::int64_t>(t));
    if (ids.empty()) ids.push_back(eot);  // empty prompt: start a fresh story
    if (stop_eot) so.stop_token = eot;
    double total_tokens = 0, total_s = 0;
    for (index_t s = 0; s < samples; ++s) {
      if (samples > 1) std::printf("%s--- sample %lld ---\n", s ? "\n" : "", static_cast<long long>(s + 1));
      std::fputs(prompt.c_str(), stdout);
      std::fflush(stdout);
      const double t0 = lm::now_seconds();
      auto out = nn::generate(model, ids, n_tokens, so, [&](std::int64_t id) {
        const data::token_t t = static_cast<data::token_t>(id);
        const std::string piece = tok.decode(std::span<const data::token_t>(&t, 1));  // raw bytes, may split UTF-8
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      total_s += lm::now_seconds() - t0;
      total_tokens += static_cast<double>(out.size());
      std::printf("\n");
      so.seed += 1;
    }
    std::fprintf(stderr, "generate: %.0f tokens in %.2f s (%.1f tokens/s incl. prompt)\n", total_tokens, total_s,
                 total_s > 0 ? total_tokens / total_s : 0.0);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "generate: error: %s\n", e.what());
    return 1;
  }
}
