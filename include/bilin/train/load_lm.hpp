// bilin/train/load_lm.hpp — the one entry point every program uses to open a language model.
//
// Contract:
// - load_lm(path) accepts
//     * an official-layout folder (config.json + model.safetensors, train/official_lm.hpp), or
//       that folder's config.json / model.safetensors given by name;
//     * a bilin checkpoint (train_tinylm's ckpt.safetensors, train/lm_checkpoint.hpp).
//   It returns the model in eval mode, whether it came from an official folder, the file's
//   metadata (bilin checkpoints: model config, tokenizer, ...; official folders: none) and the
//   path of the folder's tokenizer.json when there is one (empty otherwise).
// - Errors are those of the two loaders (they name the file and the key or tensor); a path that
//   does not exist is bilin::Error("load_lm", "<path>: ...").
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "lm_checkpoint.hpp"
#include "official_lm.hpp"

namespace bilin::train {

struct LoadedLm {
  std::shared_ptr<nn::Transformer<float>> model;
  bool official = false;
  std::string path;                               // the folder (official) or the checkpoint file
  std::map<std::string, std::string> metadata;    // bilin checkpoints only
  std::string tokenizer_json;                     // <folder>/tokenizer.json when present
};

// The official folder `path` names (itself, or the folder of its config.json/model.safetensors
// when that folder has a config.json), or "" for anything else.
inline std::string official_lm_folder(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (fs::is_directory(p)) return path;
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  const std::string leaf = p.filename().string();
  if ((leaf == "config.json" || leaf == "model.safetensors") && fs::is_regular_file(dir / "config.json"))
    return dir.string();
  return "";
}

inline LoadedLm load_lm(const std::string& path) {
  namespace fs = std::filesystem;
  BILIN_CHECK(!path.empty(), "load_lm", "no model path given");
  BILIN_CHECK(fs::exists(path), "load_lm", path, ": no such file or folder");
  LoadedLm out;
  if (const std::string folder = official_lm_folder(path); !folder.empty()) {
    out.official = true;
    out.path = folder;
    out.model = load_official_lm(folder);
    const fs::path tok = fs::path(folder) / "tokenizer.json";
    if (fs::is_regular_file(tok)) out.tokenizer_json = tok.string();
    return out;
  }
  out.path = path;
  Generator gen(0);
  out.model = std::make_shared<nn::Transformer<float>>(read_lm_config(path), gen);
  out.metadata = load_lm_checkpoint(path, *out.model);
  out.model->eval();
  return out;
}

}  // namespace bilin::train
