// bilin/train/sae_file.hpp — TopK SAEs as safetensors files in the official layout.
//
// Contract:
// - SaeInfo: where an SAE reads its activations (hook point name, layer) and which LM it was
//   trained on (its checkpoint path and content hash), beside the SaeConfig.
// - save_sae(path, sae, info, extra) writes "w_enc.weight" [n, d], "w_dec.weight" [d, n],
//   "b_dec" [d] (float32, the official src/sae names; PyTorch's load_state_dict takes them) and
//   the metadata "sae_config" (JSON: d, n_latents, expansion, k, relu, hook, layer,
//   lm_checkpoint, lm_hash) plus `extra`, atomically (io/atomic_file.hpp): a crash leaves the
//   old file or the new one, never half of one.
// - load_sae(path, k_if_missing) reads such a file, or one written by the official code's layout
//   without metadata when k is given, or an official SAE folder (tdooms/ts-medium-scope:
//   {name}/config.json + model.safetensors, as src/sae/sae.py's push_to_hub writes them; the path
//   may name the folder or either file in it): d_model, expansion and k come from config.json
//   (required, and must agree with the tensor shapes), the hook point and layer from its
//   "point" [name, layer]; an SAE the official code built with bilinear_encoder, encoder_bias or
//   normalize is refused (bilin's TopKSAE has none of them). Errors name config.json and the key. Every failure is a bilin::Error("load_sae", "<path>: …")
//   naming the problem: unreadable or truncated file (io/safetensors.hpp), a missing tensor,
//   shapes that do not fit together ([n, d], [d, n], [d]), a config that disagrees with the
//   tensors, no k anywhere, k ≥ n.
// - check_sae_fits(info, d_model, n_layer, path) throws when the SAE's d or layer does not fit
//   the language model it is applied to.
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "../io/json.hpp"
#include "../io/json_file.hpp"
#include "../io/safetensors.hpp"
#include "../nn/sae.hpp"
#include "../nn/transformer.hpp"

namespace bilin::train {

struct SaeInfo {
  std::string hook = "mlp_out";
  index_t layer = 0;
  std::string lm_checkpoint, lm_hash;
};

struct LoadedSae {
  std::shared_ptr<nn::TopKSAE<float>> sae;
  SaeInfo info;
  std::map<std::string, std::string> metadata;
};

inline json::Value sae_config_json(const nn::SaeConfig& c, const SaeInfo& info) {
  json::Value v = json::Value::object();
  v["d"] = c.d;
  v["n_latents"] = c.n_latents;
  v["expansion"] = c.d > 0 && c.n_latents % c.d == 0 ? json::Value(c.n_latents / c.d) : json::Value(static_cast<double>(c.n_latents) / static_cast<double>(c.d));
  v["k"] = c.k;
  v["relu"] = c.relu;
  v["hook"] = info.hook;
  v["layer"] = info.layer;
  v["lm_checkpoint"] = info.lm_checkpoint;
  v["lm_hash"] = info.lm_hash;
  return v;
}

inline void save_sae(const std::string& path, const nn::TopKSAE<float>& sae, const SaeInfo& info,
                     std::map<std::string, std::string> extra = {}) {
  extra["sae_config"] = sae_config_json(sae.config(), info).dump();
  std::vector<std::pair<std::string, io::AnyTensor>> tensors;
  for (const auto& [name, t] : sae.state_dict()) tensors.emplace_back(name, t.contiguous());
  io::save_safetensors(path, tensors, extra);
}

// The official SAE folder `path` names (itself, or the folder of its config.json or
// model.safetensors when the folder has both), or "".
inline std::string official_sae_folder(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = fs::is_directory(p) ? p : p.parent_path();
  if (!fs::is_directory(p) && p.filename() != "config.json" && p.filename() != "model.safetensors") return "";
  if (fs::is_regular_file(dir / "config.json") && fs::is_regular_file(dir / "model.safetensors")) return dir.string();
  return "";
}

// k, hook and layer of an official SAE folder's config.json, checked against d and n.
inline void read_official_sae_config(const std::string& cfg_path, index_t d, index_t n, nn::SaeConfig& cfg,
                                     SaeInfo& info) {
  using io::JsonKind;
  const json::Value j = io::read_json_file(cfg_path, "load_sae");
  const auto key = [&](const char* k, JsonKind kind, bool required) {
    return io::json_key(j, k, kind, required, cfg_path, "load_sae");
  };
  const index_t dm = key("d_model", JsonKind::Int, true)->as_int();
  const index_t ex = key("expansion", JsonKind::Int, true)->as_int();
  cfg.k = key("k", JsonKind::Int, true)->as_int();
  BILIN_CHECK(dm == d, "load_sae", cfg_path, ": key 'd_model' = ", dm, " contradicts the tensors (w_enc.weight is [",
              n, ", ", d, "])");
  BILIN_CHECK(ex * dm == n, "load_sae", cfg_path, ": key 'expansion' = ", ex, " gives ", ex * dm,
              " features but the tensors have ", n);
  for (const char* flag : {"bilinear_encoder", "encoder_bias"})
    if (const auto* v = key(flag, JsonKind::Bool, false))
      BILIN_CHECK(!v->as_bool(), "load_sae", cfg_path, ": key '", flag, "' = true is not supported (bilin's TopK SAE has ",
                  "a linear encoder without bias)");
  if (const auto* v = key("normalize", JsonKind::Any, false))
    BILIN_CHECK(v->is_null(), "load_sae", cfg_path, ": key 'normalize' = ", v->dump(),
                " is not supported (inputs scaled before encoding)");
  if (const auto* p = key("point", JsonKind::Any, false); p && !p->is_null()) {
    BILIN_CHECK(p->is_array() && p->size() == 2 && p->at(0).is_string() && p->at(1).is_int(), "load_sae", cfg_path,
                ": key 'point' must be [hook name, layer], got ", p->dump());
    try {
      info.hook = nn::hook_point_name(nn::parse_hook_point(p->at(0).as_string()));
    } catch (const Error& e) {
      throw Error("load_sae", msg(cfg_path, ": key 'point': ", e.what()));
    }
    info.layer = p->at(1).as_int();
  }
}

// One safetensors file (bilin's, or the official state dict with k given).
inline LoadedSae load_sae_file(const std::string& path, std::optional<index_t> k_if_missing) {
  io::TensorMap m;
  try {
    m = io::load_safetensors(path);
  } catch (const Error& e) {
    throw Error("load_sae", msg(path, ": ", e.what()));
  }
  auto fail = [&](const auto&... pieces) { throw Error("load_sae", msg(path, ": ", pieces...)); };
  for (const char* name : {"w_enc.weight", "w_dec.weight", "b_dec"})
    if (!m.contains(name)) fail("no tensor '", name, "' (an SAE file holds w_enc.weight, w_dec.weight, b_dec)");
  const TensorF we = m.get<float>("w_enc.weight"), wd = m.get<float>("w_dec.weight"), b = m.get<float>("b_dec");
  if (we.dim() != 2) fail("w_enc.weight must be [n, d], got ", to_string(we.shape()));
  const index_t n = we.size(0), d = we.size(1);
  if (wd.shape() != Shape{d, n})
    fail("w_dec.weight has shape ", to_string(wd.shape()), " but w_enc.weight ", to_string(we.shape()), " needs [", d,
         ", ", n, "]");
  if (b.shape() != Shape{d}) fail("b_dec has shape ", to_string(b.shape()), ", expected [", d, "]");
  LoadedSae out;
  out.metadata = m.metadata;
  nn::SaeConfig cfg{d, n, 0, false};
  if (auto it = m.metadata.find("sae_config"); it != m.metadata.end()) {
    json::Value v;
    try {
      v = json::parse(it->second);
      if (v.at("d").as_int() != d || v.at("n_latents").as_int() != n)
        fail("metadata 'sae_config' says d ", v.at("d").as_int(), ", n ", v.at("n_latents").as_int(),
             " but the tensors have d ", d, ", n ", n);
      cfg.k = v.at("k").as_int();
      if (const auto* r = v.find("relu")) cfg.relu = r->as_bool();
      if (const auto* h = v.find("hook")) out.info.hook = h->as_string();
      if (const auto* l = v.find("layer")) out.info.layer = l->as_int();
      if (const auto* c = v.find("lm_checkpoint")) out.info.lm_checkpoint = c->as_string();
      if (const auto* c = v.find("lm_hash")) out.info.lm_hash = c->as_string();
    } catch (const Error& e) {
      if (std::string(e.what()).rfind("load_sae", 0) == 0) throw;
      fail("bad metadata 'sae_config': ", e.what());
    }
  } else if (k_if_missing) {
    cfg.k = *k_if_missing;
  } else {
    fail("no 'sae_config' metadata and no k given (files written by the official code need k)");
  }
  try {
    cfg.validate();
  } catch (const Error& e) {
    fail(e.what());
  }
  Generator gen(0);
  out.sae = std::make_shared<nn::TopKSAE<float>>(cfg, gen);
  out.sae->load_state_dict({{"w_enc.weight", we}, {"w_dec.weight", wd}, {"b_dec", b}});
  return out;
}

inline LoadedSae load_sae(const std::string& path, std::optional<index_t> k_if_missing = std::nullopt) {
  if (const std::string folder = official_sae_folder(path); !folder.empty()) {
    namespace fs = std::filesystem;
    const std::string st = (fs::path(folder) / "model.safetensors").string();
    const std::string cj = (fs::path(folder) / "config.json").string();
    // The tensors and their shapes exactly as for a single file; the config from config.json.
    LoadedSae out = load_sae_file(st, index_t{1});
    nn::SaeConfig cfg = out.sae->config();
    read_official_sae_config(cj, cfg.d, cfg.n_latents, cfg, out.info);
    try {
      cfg.validate();
    } catch (const Error& e) {
      throw Error("load_sae", msg(cj, ": key 'k': ", e.what()));
    }
    Generator gen(0);
    auto sae = std::make_shared<nn::TopKSAE<float>>(cfg, gen);
    sae->load_state_dict(out.sae->state_dict());
    out.sae = sae;
    return out;
  }
  return load_sae_file(path, k_if_missing);
}

inline void check_sae_fits(const SaeInfo& info, const nn::TopKSAE<float>& sae, const nn::TransformerConfig& lm,
                           const std::string& path) {
  BILIN_CHECK(sae.d() == lm.d_model, "SAE", path, ": the SAE's d = ", sae.d(), " does not match the hook point ",
              info.hook, " of the language model (d_model = ", lm.d_model, ")");
  BILIN_CHECK(info.layer >= 0 && info.layer < lm.n_layer, "SAE", path, ": layer ", info.layer,
              " does not exist in the language model (", lm.n_layer, " layers)");
}

}  // namespace bilin::train
