// examples/lm_common.hpp — pieces shared by train_tinylm and generate: a tiny flag parser,
// the TinyStories data preparation with its tokenizer/token caches, and timing helpers.
//
// Data preparation (prepare_tinystories): the BPE tokenizer is trained on the training stories
// (each story followed by <|endoftext|>) unless a cached one exists; the train and validation
// texts (validation with blank lines collapsed, see collapse_blank_lines) are encoded once and
// stored as token caches (data/token_cache.hpp, validated on load).
// Checkpoints (save_lm_checkpoint / load_lm_checkpoint): io/checkpoint.hpp files whose metadata
// also holds "model_config" (TransformerConfig JSON) and "model_crc32" / "optim_crc32", CRC-32s of
// every model / optimizer-state tensor's bytes in state-dict order (checked on load; the
// optimizer's only when it is loaded too). safetensors itself has no checksum, so a flipped bit in
// the data section would load silently; the CRC turns that into a clear error.
//
// Cache files live in `cache_dir` and carry a key made of the vocabulary size and the sizes of
// the source files, so a changed corpus or vocabulary never reuses a stale cache:
//   tinystories-bpe<V>-<key>.txt, tinystories-bpe<V>-<key>-{train,val}.tok
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <type_traits>
#include <string>
#include <vector>

#include <zlib.h>

#include <bilin/core/error.hpp>
#include <bilin/data/bpe.hpp>
#include <bilin/io/checkpoint.hpp>
#include <bilin/nn/transformer.hpp>
#include <bilin/data/text.hpp>
#include <bilin/data/token_cache.hpp>

namespace lm {

using bilin::index_t;

// --name value / --flag arguments. Unknown names are an error at finish() (typos never pass).
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      BILIN_CHECK(a.rfind("--", 0) == 0, "args", "unexpected argument '", a, "' (options look like --name value)");
      a = a.substr(2);
      const auto eq = a.find('=');
      if (eq != std::string::npos) {
        kv_[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        kv_[a] = argv[++i];
      } else {
        kv_[a] = "";  // a bare flag
      }
    }
  }
  bool has(const std::string& k) {
    used_[k] = true;
    return kv_.count(k) > 0;
  }
  std::string str(const std::string& k, const std::string& def) { return has(k) ? kv_[k] : def; }
  long long integer(const std::string& k, long long def) {
    if (!has(k)) return def;
    try {
      std::size_t pos = 0;
      const long long v = std::stoll(kv_[k], &pos);
      if (pos == kv_[k].size()) return v;
    } catch (...) {
    }
    throw bilin::Error("args", bilin::msg("--", k, " expects an integer, got '", kv_[k], "'"));
  }
  double real(const std::string& k, double def) {
    if (!has(k)) return def;
    try {
      std::size_t pos = 0;
      const double v = std::stod(kv_[k], &pos);
      if (pos == kv_[k].size()) return v;
    } catch (...) {
    }
    throw bilin::Error("args", bilin::msg("--", k, " expects a number, got '", kv_[k], "'"));
  }
  bool flag(const std::string& k) {
    if (!has(k)) return false;
    const std::string& v = kv_[k];
    return v.empty() || v == "1" || v == "true" || v == "yes";
  }
  void finish() const {
    for (const auto& [k, v] : kv_)
      BILIN_CHECK(used_.count(k), "args", "unknown option --", k, " (see --help)");
  }

 private:
  std::map<std::string, std::string> kv_;
  std::map<std::string, bool> used_;
};

// Restart the program once with two runtime settings (an environment variable can only take
// effect at process start), unless the user already chose them or set BILIN_NO_REEXEC=1:
// - GLIBC_TUNABLES=glibc.malloc.hugetlb=1: malloc backs large blocks with transparent huge pages
//   (this machine's THP mode is "madvise"). A training step allocates activations of up to 32 MB
//   that glibc maps fresh each time; with 4 KB pages the kernel spent 10–20% of a step faulting
//   them in.
// - GOMP_SPINCOUNT=10000: OpenMP threads spin ~10k iterations at a barrier before sleeping,
//   instead of libgomp's default 300k. On a machine shared with other jobs a spinning thread
//   steals the core from the thread it waits for; with 2 threads under load that cost 3–5× in
//   throughput (measured: 434–757 vs 2322 tokens/s), and it costs nothing measurable when idle.
inline void reexec_with_runtime_env(char** argv) {
  if (std::getenv("BILIN_NO_REEXEC")) return;
  bool changed = false;
  const char* cur = std::getenv("GLIBC_TUNABLES");
  std::string t = cur ? cur : "";
  if (t.find("glibc.malloc.hugetlb") == std::string::npos) {
    t = t.empty() ? "glibc.malloc.hugetlb=1" : t + ":glibc.malloc.hugetlb=1";
    ::setenv("GLIBC_TUNABLES", t.c_str(), 1);
    changed = true;
  }
  if (!std::getenv("GOMP_SPINCOUNT") && !std::getenv("OMP_WAIT_POLICY")) {
    ::setenv("GOMP_SPINCOUNT", "10000", 1);
    changed = true;
  }
  if (changed) ::execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline std::string default_data_dir() {
  if (const char* e = std::getenv("BILIN_DATA_DIR")) return std::string(e) + "/tinystories";
#ifdef BILIN_DATA_DIR
  return std::string(BILIN_DATA_DIR) + "/tinystories";
#else
  return "../shared/data/tinystories";
#endif
}

// CRC-32 over the bytes of every tensor of the state dict, in order.
template <class T>
std::uint32_t state_crc32(const bilin::nn::Module<T>& m) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  for (const auto& [name, t] : m.state_dict()) {
    const bilin::Tensor<T> c = t.is_contiguous() ? t : t.contiguous();
    crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(c.data()), static_cast<std::size_t>(c.numel()) * sizeof(T));
  }
  return static_cast<std::uint32_t>(crc);
}

template <class T>
std::uint32_t state_crc32(const bilin::optim::Optimizer<T>& opt) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  for (const auto& [name, t] : opt.state_dict()) {
    const bilin::Tensor<T> c = t.is_contiguous() ? t : t.contiguous();
    crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(c.data()), static_cast<std::size_t>(c.numel()) * sizeof(T));
  }
  return static_cast<std::uint32_t>(crc);
}

template <class T>
void save_lm_checkpoint(const std::string& path, const bilin::nn::Transformer<T>& model,
                        const bilin::optim::Optimizer<std::type_identity_t<T>>* opt, std::map<std::string, std::string> meta) {
  meta["model_config"] = model.config().to_json();
  meta["model_crc32"] = std::to_string(state_crc32(model));
  if (opt) meta["optim_crc32"] = std::to_string(state_crc32(*opt));
  bilin::io::save_checkpoint(path, model, opt, meta);
}

// The model's config must equal the checkpoint's (build it from read_lm_config(path)).
template <class T>
std::map<std::string, std::string> load_lm_checkpoint(const std::string& path, bilin::nn::Transformer<T>& model,
                                                      bilin::optim::Optimizer<std::type_identity_t<T>>* opt = nullptr) {
  auto meta = bilin::io::load_checkpoint(path, model, opt);
  auto it = meta.find("model_crc32");
  BILIN_CHECK(it != meta.end(), "load_lm_checkpoint", path, ": metadata lacks 'model_crc32' (not a train_tinylm checkpoint)");
  const std::string got = std::to_string(state_crc32(model));
  BILIN_CHECK(got == it->second, "load_lm_checkpoint", path, ": the model tensors fail their CRC-32 check (stored ",
              it->second, ", computed ", got, "): the data section of the file is corrupted");
  if (opt) {
    auto o = meta.find("optim_crc32");
    BILIN_CHECK(o != meta.end(), "load_lm_checkpoint", path, ": metadata lacks 'optim_crc32'");
    const std::string og = std::to_string(state_crc32(*opt));
    BILIN_CHECK(og == o->second, "load_lm_checkpoint", path, ": the optimizer state fails its CRC-32 check (stored ",
                o->second, ", computed ", og, "): the data section of the file is corrupted");
  }
  return meta;
}

inline bilin::nn::TransformerConfig read_lm_config(const std::string& path) {
  const auto meta = bilin::io::read_checkpoint_metadata(path);
  auto it = meta.find("model_config");
  BILIN_CHECK(it != meta.end(), "load_lm_checkpoint", path,
              ": no 'model_config' in the metadata (not a train_tinylm checkpoint)");
  try {
    return bilin::nn::TransformerConfig::from_json(it->second);
  } catch (const bilin::Error& e) {
    throw bilin::Error("load_lm_checkpoint", bilin::msg(path, ": bad 'model_config' in the metadata: ", e.what()));
  }
}

// The validation head separates paragraphs (and stories) by blank lines where the training files
// use one newline; collapsing blank lines gives the validation text the layout the model is
// trained on, so the validation loss is not inflated by a "\n\n" it never saw.
inline std::string collapse_blank_lines(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == '\n')
      while (i + 1 < s.size() && s[i + 1] == '\n') ++i;
  }
  return out;
}

struct LmData {
  bilin::data::BpeTokenizer tokenizer;
  std::string tokenizer_path;
  std::vector<bilin::data::token_t> train, val;
};

inline LmData prepare_tinystories(const std::string& dir, std::size_t vocab, const std::string& cache_dir,
                                  bool verbose = true) {
  namespace fs = std::filesystem;
  namespace d = bilin::data;
  std::uint64_t key = 1469598103934665603ull;  // FNV-1a over (file name, size)
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) key = (key ^ c) * 1099511628211ull;
  };
  std::vector<std::string> files = d::tinystories_train_files();
  files.push_back(d::tinystories_val_file());
  mix("val:collapse-blank-lines");
  for (const auto& f : files) {
    const std::string p = dir + "/" + f;
    BILIN_CHECK(fs::exists(p), "train_tinylm", "missing data file '", p,
                "' (pass --data DIR holding the TinyStories files, see ../shared/data/README.md)");
    mix(f + ":" + std::to_string(fs::file_size(p)));
  }
  char keyhex[17];
  std::snprintf(keyhex, sizeof keyhex, "%016llx", static_cast<unsigned long long>(key));
  fs::create_directories(cache_dir);
  const std::string stem = cache_dir + "/tinystories-bpe" + std::to_string(vocab) + "-" + keyhex;
  LmData out;
  out.tokenizer_path = stem + ".txt";
  const std::string train_path = stem + "-train.tok", val_path = stem + "-val.tok";
  const double t0 = now_seconds();
  d::TextCorpus corpus;
  bool have_corpus = false;
  auto corpus_ref = [&]() -> d::TextCorpus& {
    if (!have_corpus) corpus = d::load_tinystories(dir), have_corpus = true;
    return corpus;
  };
  if (fs::exists(out.tokenizer_path)) {
    out.tokenizer = d::BpeTokenizer::load(out.tokenizer_path);
    if (verbose) std::fprintf(stderr, "tokenizer: loaded %s (vocab %zu)\n", out.tokenizer_path.c_str(), out.tokenizer.vocab_size());
  } else {
    std::vector<std::string_view> views;
    std::vector<std::string> with_eot;
    for (const auto& s : corpus_ref().train) with_eot.push_back(s + d::kEndOfText);
    for (const auto& s : with_eot) views.push_back(s);
    d::BpeTrainOptions o;
    o.vocab_size = vocab;
    out.tokenizer = d::BpeTokenizer::train(views, o);
    out.tokenizer.save(out.tokenizer_path);
    if (verbose)
      std::fprintf(stderr, "tokenizer: trained vocab %zu on %zu stories in %.1f s -> %s\n", out.tokenizer.vocab_size(),
                   corpus_ref().train.size(), now_seconds() - t0, out.tokenizer_path.c_str());
  }
  auto load_or_encode = [&](const std::string& path, bool is_train) {
    if (fs::exists(path)) {
      try {
        d::TokenCache c = d::TokenCache::open(path);
        BILIN_CHECK(c.vocab_size() == out.tokenizer.vocab_size(), "train_tinylm", "token cache '", path,
                    "' was made for vocab ", c.vocab_size(), ", the tokenizer has ", out.tokenizer.vocab_size());
        return c.to_vector();
      } catch (const bilin::Error& e) {
        std::fprintf(stderr, "warning: ignoring token cache: %s; re-encoding\n", e.what());
      }
    }
    std::vector<std::string> docs = is_train ? corpus_ref().train : corpus_ref().val;
    if (!is_train)
      for (auto& doc : docs) doc = collapse_blank_lines(doc);
    std::vector<d::token_t> ids = out.tokenizer.encode(d::join_documents(docs, d::kEndOfText));
    d::write_token_cache(path, ids, out.tokenizer.vocab_size());
    return ids;
  };
  out.train = load_or_encode(train_path, true);
  out.val = load_or_encode(val_path, false);
  if (verbose)
    std::fprintf(stderr, "data: %zu train tokens, %zu val tokens (%.1f s)\n", out.train.size(), out.val.size(),
                 now_seconds() - t0);
  return out;
}

}  // namespace lm
