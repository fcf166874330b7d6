// bilin/train/checkpoint.hpp — model (+ optimizer) checkpoints as safetensors files.
//
// A checkpoint of a model and its optimizer is the trainer's business, so it lives in train/ (io/
// below it knows only tensors and files).
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
// - read_checkpoint_metadata(path) (io/safetensors.hpp) reads only the header.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "../io/json.hpp"
#include "../io/safetensors.hpp"
#include "../nn/module.hpp"
#include "../optim/optimizer.hpp"

namespace bilin::train {

using io::AnyTensor;
using io::TensorMap;
using io::read_checkpoint_metadata;

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
  io::save_safetensors(path, tensors, meta);
}

template <class T>
std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module<T>& model,
                                                   optim::Optimizer<T>* opt = nullptr, bool strict = true) {
  TensorMap file;
  try {
    file = io::load_safetensors(path);
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

}  // namespace bilin::train

// The names these functions had while they lived in io/checkpoint.hpp, for code written then.
namespace bilin::io {
using train::kCheckpointFormat;
using train::load_checkpoint;
using train::save_checkpoint;
}  // namespace bilin::io
