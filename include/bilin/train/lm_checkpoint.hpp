// bilin/train/lm_checkpoint.hpp — checkpoints of a Transformer language model (+ optimizer),
// with CRC-32 checks on the tensor data.
//
// Contract:
// - save_lm_checkpoint(path, model, opt, meta) writes a train/checkpoint.hpp file (atomically)
//   whose metadata also holds "model_config" (TransformerConfig JSON) and "model_crc32" /
//   "optim_crc32": CRC-32s of every model / optimizer-state tensor's bytes in state-dict order.
// - load_lm_checkpoint(path, model, opt) loads it and checks the model CRC (and the optimizer's
//   when opt is given): safetensors itself has no checksum, so a flipped bit in the data section
//   would load silently; the CRC turns that into a clear error. The model's config must equal
//   the checkpoint's: build it from read_lm_config(path).
// - read_lm_config(path) reads the "model_config" from the header alone.
// Every failure throws bilin::Error("load_lm_checkpoint" or "load_checkpoint", "<path>: ...").
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <type_traits>

#include <zlib.h>

#include "../core/error.hpp"
#include "../io/safetensors.hpp"
#include "../nn/module.hpp"
#include "../nn/transformer.hpp"
#include "../optim/optimizer.hpp"
#include "checkpoint.hpp"

namespace bilin::train {

// CRC-32 over the bytes of every tensor of a state dict, in order.
template <class T>
std::uint32_t state_crc32(const nn::NamedTensors<T>& state) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  for (const auto& [name, t] : state) {
    const Tensor<T> c = t.is_contiguous() ? t : t.contiguous();
    crc = ::crc32_z(crc, reinterpret_cast<const Bytef*>(c.data()), static_cast<std::size_t>(c.numel()) * sizeof(T));
  }
  return static_cast<std::uint32_t>(crc);
}
template <class T>
std::uint32_t state_crc32(const nn::Module<T>& m) {
  return state_crc32(m.state_dict());
}
template <class T>
std::uint32_t state_crc32(const optim::Optimizer<T>& opt) {
  return state_crc32(opt.state_dict());
}

template <class T>
void save_lm_checkpoint(const std::string& path, const nn::Transformer<T>& model,
                        const optim::Optimizer<std::type_identity_t<T>>* opt, std::map<std::string, std::string> meta) {
  meta["model_config"] = model.config().to_json();
  meta["model_crc32"] = std::to_string(state_crc32(model));
  if (opt) meta["optim_crc32"] = std::to_string(state_crc32(*opt));
  save_checkpoint(path, model, opt, meta);
}

template <class T>
std::map<std::string, std::string> load_lm_checkpoint(const std::string& path, nn::Transformer<T>& model,
                                                      optim::Optimizer<std::type_identity_t<T>>* opt = nullptr) {
  auto meta = load_checkpoint(path, model, opt);
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

inline nn::TransformerConfig read_lm_config(const std::string& path) {
  const auto meta = io::read_checkpoint_metadata(path);
  auto it = meta.find("model_config");
  BILIN_CHECK(it != meta.end(), "load_lm_checkpoint", path,
              ": no 'model_config' in the metadata (not a train_tinylm checkpoint)");
  try {
    return nn::TransformerConfig::from_json(it->second);
  } catch (const Error& e) {
    throw Error("load_lm_checkpoint", msg(path, ": bad 'model_config' in the metadata: ", e.what()));
  }
}

}  // namespace bilin::train
