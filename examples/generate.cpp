// generate — sample text from a train_tinylm checkpoint.
//
//   generate --ckpt DIR/ckpt.safetensors [flags]   (--help lists every flag with its default)
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
#include <bilin/io/flags.hpp>
#include <bilin/train/lm_checkpoint.hpp>
#include <bilin/nn/generate.hpp>
#include <bilin/nn/transformer.hpp>

#include "lm_common.hpp"

using namespace bilin;

int main(int argc, char** argv) {
  lm::reexec_with_runtime_env(argv);
  try {
    Flags f("generate", "Sample text from a train_tinylm checkpoint.");
    f.value("ckpt", "", "the checkpoint (holds the model config and the tokenizer)", "FILE")
        .value("prompt", "Once upon a time", "text to continue", "TEXT")
        .value("tokens", "200", "tokens to generate per sample", "N")
        .value("temperature", "0.8", "sampling temperature", "T")
        .value("top-k", "40", "sample from the k most likely tokens", "K")
        .value("seed", "0", "random seed of the first sample (+1 per sample)", "N")
        .value("threads", "2", "OpenMP threads", "N")
        .value("samples", "1", "number of samples", "N")
        .value("tokenizer", "", "a BPE tokenizer file instead of the checkpoint's", "FILE")
        .toggle("stop-at-eot", "stop a sample at <|endoftext|>");
    if (!f.parse(argc, argv)) return 0;
    const std::string ckpt = f.str("ckpt");
    const std::string prompt = f.str("prompt");
    const index_t n_tokens = f.integer("tokens");
    nn::SamplingOptions so;
    so.temperature = f.real("temperature");
    so.top_k = f.integer("top-k");
    so.seed = static_cast<std::uint64_t>(f.integer("seed"));
    const int threads = static_cast<int>(f.integer("threads"));
    const index_t samples = f.integer("samples");
    const std::string tok_path = f.str("tokenizer");
    const bool stop_eot = f.on("stop-at-eot");
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
