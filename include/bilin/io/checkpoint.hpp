// bilin/io/checkpoint.hpp — model (+ optimizer) checkpoints as safetensors files.
//
// Contract:
// - save_checkpoint(path, model, opt, metadata) writes one safetensors file atomically
//   (io/safetensors.hpp: temp file + fsync + rename): the model's state_dict under its own
//   names ("embed.weight", ...), then, when opt is given, the optimizer's state_dict prefixed
//   "optim." ("optim.exp_avg.0", ...). String metadata: the caller's entries plus
//   "format" = "bilin-checkpoint-v1", "dtype", and with an optimizer "optim.kind" and the exact
//   hyper-state ("optim.lr", "optim.step", ...). A model-only file is a plain PyTorch-style
//   state dict: safetensors.torch.load_file() / numpy read it directly.
// - load_checkpoint(path, model, opt, strict) restores them and returns the metadata. Before
//   anything is copied it checks that every model tensor is present with the model's shape and
//   (strict) that there is no unexpected non-"optim." tensor, so a wrong file leaves the model
//   untouched. With opt it requires the optimizer state and a matching "optim.kind". Every
//   failure — unreadable, truncated or corrupted file, missing or mis-shaped tensor, wrong
//   optimizer — throws bilin::Error("load_checkpoint", "<path>: ...") saying what was wrong.
//   Files written by other tools (no "format" entry) load as long as the names match.
// - read_checkpoint_metadata(path) reads only the header (cheap for large files).
#pragma once
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "../nn/module.hpp"
#include "../optim/optimizer.hpp"
#include "json.hpp"
#include "safetensors.hpp"

namespace bilin::io {

inline constexpr const char* kCheckpointFormat = "bilin-checkpoint-v1";

template <class T>
void save_checkpoint(const std::string& path, const nn::Module<T>& model, const optim::Optimizer<T>* opt = nullptr,
                     const std::map<std::string, std::string>& metadata = {}) {
  std::vector<std::pair<std::string, AnyTensor>> tensors;
  for (const auto& [name, t] : model.state_dict()) {
    BILIN_CHECK(name.rfind("optim.", 0) != 0, "save_checkpoint", "model tensor '", name,
                "' uses the reserved prefix 'optim.'");
    tensors.emplace_back(name, t.is_contiguous() ? t : t.contiguous());
  }
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = kCheckpointFormat;
  meta["dtype"] = dtype_name<T>();
  if (opt) {
    for (const auto& [name, t] : opt->state_dict()) tensors.emplace_back("optim." + name, t);
    meta["optim.kind"] = opt->kind();
    for (const auto& [k, v] : opt->hyper_state()) meta["optim." + k] = v;
  }
  save_safetensors(path, tensors, meta);
}

inline std::map<std::string, std::string> read_checkpoint_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BILIN_CHECK(in.good(), "read_checkpoint_metadata", path, ": cannot open file");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char len[8] = {};
  BILIN_CHECK(size >= 8 && in.read(reinterpret_cast<char*>(len), 8), "read_checkpoint_metadata", path,
              ": file of ", size, " bytes is too short for a safetensors header (8-byte length at offset 0)");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | len[i];
  BILIN_CHECK(n <= size - 8, "read_checkpoint_metadata", path, ": header length ", n, " (offset 0) exceeds the ",
              size - 8, " bytes after it");
  std::string header(static_cast<std::size_t>(n), '\0');
  BILIN_CHECK(static_cast<bool>(in.read(header.data(), static_cast<std::streamsize>(n))), "read_checkpoint_metadata",
              path, ": could not read the ", n, "-byte header at offset 8");
  json::Value h;
  try {
    h = json::parse(header);
  } catch (const json::ParseError& e) {
    throw Error("read_checkpoint_metadata", msg(path, ": header JSON is invalid at file byte ", 8 + e.offset(), ": ",
                                                e.reason()));
  }
  std::map<std::string, std::string> out;
  if (const json::Value* m = h.is_object() ? h.find("__metadata__") : nullptr) {
    BILIN_CHECK(m->is_object(), "read_checkpoint_metadata", path, ": __metadata__ is not an object");
    for (const auto& [k, v] : m->as_object()) {
      BILIN_CHECK(v.is_string(), "read_checkpoint_metadata", path, ": metadata '", k, "' is not a string");
      out[k] = v.as_string();
    }
  }
  return out;
}

template <class T>
std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module<T>& model,
                                                   optim::Optimizer<T>* opt = nullptr, bool strict = true) {
  TensorMap file;
  try {
    file = load_safetensors(path);
  } catch (const Error& e) {
    throw Error("load_checkpoint", msg(path, ": ", e.what()));
  }
  const auto fail = [&](const auto&... pieces) { throw Error("load_checkpoint", msg(path, ": ", pieces...)); };

  // Validate the model part completely before touching the model.
  nn::NamedTensors<T> model_sd;
  std::set<std::string> expected;
  for (const auto& [name, t] : model.state_dict()) {
    expected.insert(name);
    if (!file.contains(name)) fail("missing model tensor '", name, "' (", to_string(t.shape()), ")");
    const AnyTensor& a = file.at(name);
    if (a.shape() != t.shape())
      fail("tensor '", name, "' has shape ", to_string(a.shape()), " in the file but ", to_string(t.shape()),
           " in the model");
    try {
      model_sd.emplace_back(name, a.template get<T>(name));
    } catch (const Error& e) {
      fail(e.what());
    }
  }
  nn::NamedTensors<T> optim_sd;
  for (const auto& [name, a] : file) {
    if (name.rfind("optim.", 0) == 0) {
      if (opt) {
        try {
          optim_sd.emplace_back(name.substr(6), a.template get<T>(name));
        } catch (const Error& e) {
          fail(e.what());
        }
      }
    } else if (strict && !expected.count(name)) {
      fail("unexpected tensor '", name, "' (", to_string(a.shape()), ") that the model does not have");
    }
  }
  const auto& meta = file.metadata;
  if (opt) {
    const auto kind = meta.find("optim.kind");
    if (kind == meta.end() || optim_sd.empty()) fail("no optimizer state in this checkpoint (saved without one)");
    if (kind->second != opt->kind())
      fail("optimizer state is for '", kind->second, "' but the optimizer is '", opt->kind(), "'");
  }
  try {
    model.load_state_dict(model_sd, strict);
    if (opt) {
      opt->load_state_dict(optim_sd);
      std::map<std::string, std::string> hyper;
      for (const auto& [k, v] : meta)
        if (k.rfind("optim.", 0) == 0 && k != "optim.kind") hyper[k.substr(6)] = v;
      opt->load_hyper_state(hyper);
    }
  } catch (const Error& e) {
    fail(e.what());
  }
  return meta;
}

}  // namespace bilin::io
