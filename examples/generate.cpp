// generate — sample text from a language model: a train_tinylm checkpoint or a folder in the
// official layout (config.json + model.safetensors [+ tokenizer.json], e.g. tdooms/ts-medium).
//
//   generate --ckpt DIR/ckpt.safetensors [flags]   (--help lists every flag with its default)
//   generate --ckpt FOLDER --ids 1,2,3 --logits-out logits.safetensors
//
// The model is opened with train/load_lm.hpp. A bilin checkpoint's metadata holds the model
// configuration and the tokenizer (train_tinylm stores both); an official folder's tokenizer is
// its tokenizer.json (data/hf_tokenizer.hpp); --tokenizer overrides either (a .json file is read
// as tokenizer.json, anything else as a bilin BPE file). --ids gives the token ids directly;
// with --logits-out the program writes the logits of that one sequence ([T, vocab], F32,
// tensor "logits") and exits without sampling, printing a JSON summary line. --export-official DIR
// writes the model in the official layout (train::save_official_lm) and exits. Generation
// uses a key/value cache (nn/generate.hpp): after the prompt, each new token costs one
// single-token forward. Text is streamed to stdout as it is produced; a summary line
// (tokens/s) goes to stderr.
#include <omp.h>

#include <cstdio>
#include <optional>
#include <string>

#include <bilin/bilin.hpp>
#include <bilin/io/flags.hpp>
#include <bilin/data/hf_tokenizer.hpp>
#include <bilin/train/load_lm.hpp>
#include <bilin/nn/generate.hpp>
#include <bilin/nn/transformer.hpp>

#include "lm_common.hpp"

using namespace bilin;

int main(int argc, char** argv) {
  lm::reexec_with_runtime_env(argv);
  try {
    Flags f("generate", "Sample text from a language model (train_tinylm checkpoint or official-layout folder).");
    f.value("ckpt", "", "the model: a train_tinylm checkpoint or an official folder (config.json + model.safetensors)",
            "PATH")
        .value("prompt", "Once upon a time", "text to continue", "TEXT")
        .value("ids", "", "token ids to start from instead of --prompt (comma-separated)", "I,J,...")
        .value("logits-out", "", "write the logits of --ids ([T, vocab], F32, 'logits') to FILE and exit", "FILE")
        .value("export-official", "", "write the model in the official layout (config.json + model.safetensors) to DIR and exit",
               "DIR")
        .value("tokens", "200", "tokens to generate per sample", "N")
        .value("temperature", "0.8", "sampling temperature", "T")
        .value("top-k", "40", "sample from the k most likely tokens", "K")
        .value("seed", "0", "random seed of the first sample (+1 per sample)", "N")
        .value("threads", "2", "OpenMP threads", "N")
        .value("samples", "1", "number of samples", "N")
        .value("tokenizer", "", "a tokenizer.json or BPE tokenizer file instead of the model's", "FILE")
        .toggle("stop-at-eot", "stop a sample at the end-of-text token");
    if (!f.parse(argc, argv)) return 0;
    const std::string ckpt = f.str("ckpt");
    const std::string prompt = f.str("prompt");
    const std::string logits_out = f.str("logits-out");
    const index_t n_tokens = f.integer("tokens");
    nn::SamplingOptions so;
    so.temperature = f.real("temperature");
    so.top_k = f.integer("top-k");
    so.seed = static_cast<std::uint64_t>(f.integer("seed"));
    const int threads = static_cast<int>(f.integer("threads"));
    const index_t samples = f.integer("samples");
    const std::string tok_path = f.str("tokenizer");
    const bool stop_eot = f.on("stop-at-eot");
    BILIN_CHECK(!ckpt.empty(), "generate", "--ckpt PATH is required");
    BILIN_CHECK(n_tokens >= 0 && samples >= 1 && threads >= 1, "generate", "--tokens must be >= 0, --samples and --threads >= 1");
    omp_set_num_threads(threads);

    const train::LoadedLm lm = train::load_lm(ckpt);
    nn::Transformer<float>& model = *lm.model;
    const index_t vocab = model.config().vocab;
    std::vector<std::int64_t> given_ids;
    for (const std::string& w : f.list("ids")) {
      std::int64_t v = 0;
      try {
        std::size_t used = 0;
        v = std::stoll(w, &used);
        BILIN_CHECK(used == w.size(), "generate", "");
      } catch (const std::exception&) {
        throw Error("generate", msg("--ids: '", w, "' is not an integer"));
      }
      BILIN_CHECK(v >= 0 && v < vocab, "generate", "--ids: id ", v, " is outside the model's vocabulary [0, ", vocab, ")");
      given_ids.push_back(v);
    }

    if (const std::string dir = f.str("export-official"); !dir.empty()) {
      train::save_official_lm(dir, model);
      std::printf("{\"exported\": %s, \"model\": %s}\n", json::quote(dir).c_str(), json::quote(lm.path).c_str());
      return 0;
    }
    if (!logits_out.empty()) {
      BILIN_CHECK(!given_ids.empty(), "generate", "--logits-out needs --ids");
      const auto T = static_cast<index_t>(given_ids.size());
      BILIN_CHECK(T <= model.config().n_ctx, "generate", "--ids: ", T, " tokens exceed the model's n_ctx = ",
                  model.config().n_ctx);
      NoGradGuard ng;
      const TensorF logits = model.forward(IndexTensor::from_vector(given_ids, {1, T})).reshape({T, vocab}).contiguous();
      io::save_safetensors(logits_out, {{"logits", logits}});
      std::printf("{\"logits_out\": %s, \"tokens\": %lld, \"vocab\": %lld, \"model\": %s, \"official\": %s}\n",
                  json::quote(logits_out).c_str(), static_cast<long long>(T), static_cast<long long>(vocab),
                  json::quote(lm.path).c_str(), lm.official ? "true" : "false");
      return 0;
    }

    // The tokenizer: --tokenizer, the folder's tokenizer.json, or the checkpoint's BPE.
    std::optional<data::HfTokenizer> hf;
    std::optional<data::BpeTokenizer> bpe;
    const auto ends_with = [](const std::string& a, const char* b) {
      const std::string s(b);
      return a.size() >= s.size() && a.compare(a.size() - s.size(), s.size(), s) == 0;
    };
    if (!tok_path.empty()) {
      if (ends_with(tok_path, ".json")) hf = data::HfTokenizer::load(tok_path);
      else bpe = data::BpeTokenizer::load(tok_path);
    } else if (!lm.tokenizer_json.empty()) {
      hf = data::HfTokenizer::load(lm.tokenizer_json);
    } else if (auto t = lm.metadata.find("tokenizer"); t != lm.metadata.end()) {
      bpe = data::BpeTokenizer::parse(t->second, ckpt + " (metadata 'tokenizer')");
    } else {
      BILIN_CHECK(!given_ids.empty(), "generate", ckpt, ": no tokenizer (", lm.official ? "no tokenizer.json in the folder" : "none in the metadata",
                  "); pass --tokenizer FILE, or --ids with --logits-out");
    }
    const std::size_t tok_vocab = hf ? hf->vocab_size() : bpe ? bpe->vocab_size() : 0;
    BILIN_CHECK(static_cast<index_t>(tok_vocab) <= vocab, "generate", "tokenizer has ", tok_vocab, " ids but the model only ", vocab);
    std::int64_t eot = -1;
    if (bpe) eot = static_cast<std::int64_t>(bpe->special_id(data::kEndOfText));
    else if (hf) {
      for (const char* name : {"[EOS]", "</s>", "<|endoftext|>", "[SEP]"})
        if (auto id = hf->token_to_id(name); id && eot < 0) eot = *id;
    }
    std::vector<std::int64_t> ids = given_ids;
    if (ids.empty()) {
      if (bpe) for (auto t : bpe->encode(prompt)) ids.push_back(static_cast<std::int64_t>(t));
      else if (hf) ids = hf->encode(prompt);
    }
    if (ids.empty() && eot >= 0) ids.push_back(eot);  // empty prompt: start a fresh story
    if (stop_eot) so.stop_token = eot;
    // Streamed text: the decoded suffix of the ids so far (a WordPiece piece may join the previous word).
    const auto decode = [&](const std::vector<std::int64_t>& v) -> std::string {
      if (hf) return hf->decode(v);
      if (!bpe) {
        std::string s;
        for (auto id : v) s += " " + std::to_string(id);
        return s;
      }
      std::vector<data::token_t> t(v.begin(), v.end());
      return bpe->decode(std::span<const data::token_t>(t.data(), t.size()));
    };
    double total_tokens = 0, total_s = 0;
    for (index_t s = 0; s < samples; ++s) {
      if (samples > 1) std::printf("%s--- sample %lld ---\n", s ? "\n" : "", static_cast<long long>(s + 1));
      std::vector<std::int64_t> shown = ids;
      std::string printed = decode(shown);
      std::fputs(given_ids.empty() && bpe ? prompt.c_str() : printed.c_str(), stdout);
      std::fflush(stdout);
      const double t0 = lm::now_seconds();
      auto out = nn::generate(model, ids, n_tokens, so, [&](std::int64_t id) {
        shown.push_back(id);
        const std::string now = decode(shown);  // raw bytes for BPE, may split UTF-8
        if (now.size() > printed.size() && now.compare(0, printed.size(), printed) == 0)
          std::fwrite(now.data() + printed.size(), 1, now.size() - printed.size(), stdout);
        printed = now;
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
