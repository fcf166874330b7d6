// bilin/train/official_lm.hpp — language models in the layout the paper's authors publish
// (Hugging Face tdooms/ts-medium, fw-small, fw-medium): a folder with config.json and
// model.safetensors written by tdooms/bilinear-decomposition src/language/transformer.py.
//
// Contract:
// - official_lm_config(config_json, path, vocab_from_tensors) maps the official config keys to a
//   nn::TransformerConfig: d_model, n_layer, n_head, d_hidden are required (the official
//   PretrainedConfig always writes them; a missing one means a broken file); n_ctx (256),
//   bilinear (true), gate (null), bias (false), normalization (true) default as the released
//   code does; scale_attn defaults to true because the released code applies the 1/√(2·n_layer)
//   attention-branch scale unconditionally, while the authors' later code (and ts-medium,
//   trained with "scale_attn": false) reads the key. n_vocab is optional (the released code
//   takes the vocabulary from the tokenizer): absent, the embedding's rows give it. bilinear +
//   gate null/relu/silu/gelu → bilinear / glu-relu / glu-silu / glu-gelu; bilinear false +
//   gate relu → relu; other combinations have no bilin equivalent and are refused.
// - load_official_lm(folder) reads config.json and model.safetensors (F32, BF16, F16 or F64
//   tensors, widened to float) with the official names (transformer.wte.weight,
//   transformer.h.{i}.attn.qkv.weight, .attn.o.weight, .mlp.w.weight, .mlp.p.weight, biases
//   when bias, lm_head.weight; the rotary buffer transformer.h.{i}.attn.rotary.inv_freq is
//   checked against base 10000 when present, to its dtype's precision: bilin always uses the
//   exact base-10000 frequencies). Each tensor is copied once, from the file straight
//   into the model's parameter (io::SafetensorsReader). With bias, MLP biases are required, and
//   a qkv / o bias is used when the file has one (the released code has none in attention, the
//   later code a qkv bias only). Before the model is allocated, config.json's sizes are checked
//   against the file: d_model = wte's width, n_layer × 2 × d_model × d_hidden two-byte weights
//   must fit in model.safetensors, and n_ctx ≤ kOfficialMaxContext (2^20).
// - save_official_lm(folder, model, extra) writes the same layout (config.json with the official
//   keys plus `extra`, model.safetensors F32 with the official names and the rotary buffer), each
//   file atomically, so the official PyTorch code loads a bilin-trained model. Models the
//   official code cannot express (affine norm, norm_eps ≠ 1e-8, rope_base ≠ 10000, an output
//   bias without the MLP bias layout) are refused.
// - Every failure is bilin::Error("official_lm", "<file>: ...") naming the file and the key or
//   tensor: missing or ill-typed keys, keys that contradict each other or the tensors (n_layer
//   vs the blocks present, n_vocab / d_model / d_hidden vs shapes), missing, unexpected or
//   mis-shaped tensors, non-floating dtypes.
#pragma once
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "../core/error.hpp"
#include "../io/atomic_file.hpp"
#include "../io/json_file.hpp"
#include "../io/safetensors.hpp"
#include "../nn/transformer.hpp"

namespace bilin::train {

inline constexpr const char* kOfficialOp = "official_lm";
inline constexpr index_t kOfficialMaxContext = index_t{1} << 20;

// The rotary buffer as the official code computes it: 1 / 10000^(2i/d_head), i < d_head/2.
inline std::vector<float> official_inv_freq(index_t d_head) {
  std::vector<float> f(static_cast<std::size_t>(d_head / 2));
  for (index_t i = 0; i < d_head / 2; ++i)
    f[static_cast<std::size_t>(i)] =
        static_cast<float>(1.0 / std::pow(10000.0, static_cast<double>(2 * i) / static_cast<double>(d_head)));
  return f;
}

inline nn::TransformerConfig official_lm_config(const json::Value& j, const std::string& path,
                                                index_t vocab_from_tensors = 0) {
  using io::JsonKind;
  const auto key = [&](const char* k, JsonKind kind, bool required) {
    return io::json_key(j, k, kind, required, path, kOfficialOp);
  };
  nn::TransformerConfig c;
  c.d_model = key("d_model", JsonKind::Int, true)->as_int();
  c.n_layer = key("n_layer", JsonKind::Int, true)->as_int();
  c.n_head = key("n_head", JsonKind::Int, true)->as_int();
  c.d_hidden = key("d_hidden", JsonKind::Int, true)->as_int();
  c.n_ctx = 256;
  if (const auto* v = key("n_ctx", JsonKind::Int, false)) c.n_ctx = v->as_int();
  if (const auto* v = key("n_vocab", JsonKind::Int, false)) {
    c.vocab = v->as_int();
    BILIN_CHECK(vocab_from_tensors <= 0 || c.vocab == vocab_from_tensors, kOfficialOp, path, ": key 'n_vocab' = ",
                c.vocab, " contradicts transformer.wte.weight, which has ", vocab_from_tensors, " rows");
  } else {
    BILIN_CHECK(vocab_from_tensors > 0, kOfficialOp, path, ": key 'n_vocab' is missing and no embedding gives it");
    c.vocab = vocab_from_tensors;
  }
  bool bilinear = true;
  if (const auto* v = key("bilinear", JsonKind::Bool, false)) bilinear = v->as_bool();
  std::string gate;
  if (const auto* v = key("gate", JsonKind::StringOrNull, false); v && v->is_string()) gate = v->as_string();
  if (bilinear) {
    if (gate.empty()) c.mlp = nn::MlpKind::Bilinear;
    else if (gate == "relu") c.mlp = nn::MlpKind::GluRelu;
    else if (gate == "silu") c.mlp = nn::MlpKind::GluSilu;
    else if (gate == "gelu") c.mlp = nn::MlpKind::GluGelu;
    else throw Error(kOfficialOp, msg(path, ": key 'gate' = \"", gate, "\" is not one of null, relu, silu, gelu"));
  } else {
    BILIN_CHECK(gate == "relu", kOfficialOp, path, ": keys 'bilinear' = false and 'gate' = ",
                gate.empty() ? std::string("null") : "\"" + gate + "\"",
                " describe a non-gated MLP bilin does not have (only gate \"relu\" maps to bilin's relu MLP)");
    c.mlp = nn::MlpKind::Relu;
  }
  if (const auto* v = key("bias", JsonKind::Bool, false)) c.bias = v->as_bool();
  if (const auto* v = key("normalization", JsonKind::Bool, false)) c.norm = v->as_bool();
  c.attn_scale = true;  // the released code always scales; later code reads the key
  if (const auto* v = key("scale_attn", JsonKind::Bool, false)) c.attn_scale = v->as_bool();
  c.norm_affine = false;
  c.norm_eps = 1e-8;
  c.rope_base = 10000.0;
  BILIN_CHECK(c.n_head > 0 && c.d_model > 0 && c.d_model % c.n_head == 0, kOfficialOp, path, ": keys 'd_model' = ",
              c.d_model, " and 'n_head' = ", c.n_head, " contradict each other (d_model must be a multiple of n_head)");
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(kOfficialOp, msg(path, ": ", e.what()));
  }
  return c;
}

// config.json for a model in the official layout (the inverse of official_lm_config).
inline json::Value official_config_json(const nn::TransformerConfig& c) {
  const auto refuse = [](const auto&... pieces) { throw Error(kOfficialOp, msg("cannot export: ", pieces...)); };
  if (c.norm_affine) refuse("the official RMSNorm has no weight (norm_affine is on)");
  if (c.norm && c.norm_eps != 1e-8) refuse("the official RMSNorm has eps 1e-8, this model ", c.norm_eps);
  if (c.rope_base != 10000.0) refuse("the official rotary base is 10000, this model ", c.rope_base);
  if (c.bias && c.o_bias) refuse("the official attention has no output bias (o_bias is on)");
  json::Value v = json::Value::object();
  v["n_vocab"] = c.vocab;
  v["d_model"] = c.d_model;
  v["d_hidden"] = c.d_hidden;
  v["n_layer"] = c.n_layer;
  v["n_head"] = c.n_head;
  v["n_ctx"] = c.n_ctx;
  v["bilinear"] = c.mlp != nn::MlpKind::Relu;
  switch (c.mlp) {
    case nn::MlpKind::Bilinear: v["gate"] = json::Value(); break;
    case nn::MlpKind::GluRelu: case nn::MlpKind::Relu: v["gate"] = "relu"; break;
    case nn::MlpKind::GluSilu: v["gate"] = "silu"; break;
    case nn::MlpKind::GluGelu: v["gate"] = "gelu"; break;
  }
  v["bias"] = c.bias;
  v["normalization"] = c.norm;
  v["scale_attn"] = c.attn_scale;
  return v;
}

namespace detail {
inline std::string official_block_prefix(index_t i) { return "transformer.h." + std::to_string(i) + "."; }
}  // namespace detail

inline std::shared_ptr<nn::Transformer<float>> load_official_lm(const std::string& folder) {
  namespace fs = std::filesystem;
  const std::string cfg_path = (fs::path(folder) / "config.json").string();
  const std::string st_path = (fs::path(folder) / "model.safetensors").string();
  BILIN_CHECK(fs::is_regular_file(cfg_path), kOfficialOp, folder, ": no config.json (an official model folder holds ",
              "config.json and model.safetensors)");
  BILIN_CHECK(fs::is_regular_file(st_path), kOfficialOp, folder, ": no model.safetensors beside config.json");
  const json::Value cj = io::read_json_file(cfg_path, kOfficialOp);
  io::SafetensorsReader file(st_path);
  const auto fail = [&](const auto&... pieces) { throw Error(kOfficialOp, msg(st_path, ": ", pieces...)); };

  BILIN_CHECK(file.contains("transformer.wte.weight"), kOfficialOp, st_path, ": no tensor 'transformer.wte.weight'");
  const Shape& wte = file.shape("transformer.wte.weight");
  if (wte.size() != 2) fail("transformer.wte.weight must be [n_vocab, d_model], got ", to_string(wte));
  nn::TransformerConfig c = official_lm_config(cj, cfg_path, wte[0]);
  // Sizes the model would allocate are checked against the file before it is built (a
  // config.json claiming d_hidden 10^9 must not allocate terabytes, found by tests/fuzz):
  // d_model is wte's width, every block's MLP holds at least two d_model x d_hidden matrices
  // of 2-byte or wider elements, and n_ctx is at most kOfficialMaxContext positions.
  BILIN_CHECK(wte[1] == c.d_model, kOfficialOp, cfg_path, ": key 'd_model' = ", c.d_model, " contradicts ", st_path,
              ", whose transformer.wte.weight is ", to_string(wte));
  const double mlp_bytes = 2.0 * 2.0 * static_cast<double>(c.n_layer) * static_cast<double>(c.d_model) *
                           static_cast<double>(c.d_hidden);
  BILIN_CHECK(mlp_bytes <= static_cast<double>(fs::file_size(st_path)), kOfficialOp, cfg_path, ": key 'd_hidden' = ",
              c.d_hidden, " needs at least ", mlp_bytes, " bytes of MLP weights but ", st_path, " has ",
              fs::file_size(st_path));
  BILIN_CHECK(c.n_ctx <= kOfficialMaxContext, kOfficialOp, cfg_path, ": key 'n_ctx' = ", c.n_ctx, " is over the limit of ",
              kOfficialMaxContext, " positions");

  // Blocks present in the file against n_layer.
  index_t blocks = 0;
  while (file.contains(detail::official_block_prefix(blocks) + "attn.qkv.weight")) ++blocks;
  BILIN_CHECK(blocks == c.n_layer, kOfficialOp, cfg_path, ": key 'n_layer' = ", c.n_layer, " contradicts ", st_path,
              ", which has ", blocks, " blocks (transformer.h.0 .. transformer.h.", blocks - 1, ")");
  if (c.bias) {
    c.qkv_bias = file.contains("transformer.h.0.attn.qkv.bias");
    c.o_bias = file.contains("transformer.h.0.attn.o.bias");
  } else {
    for (const auto& n : file.names())
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0)
        fail("tensor '", n, "' contradicts key 'bias' = false in ", cfg_path);
  }

  Generator gen(0);
  auto model = std::make_shared<nn::Transformer<float>>(c, gen);
  std::set<std::string> used;
  NoGradGuard ng;
  for (auto& [name, param] : model->state_dict()) {
    const std::string off = nn::Transformer<float>::official_name(name);
    if (!file.contains(off))
      fail("missing tensor '", off, "' (", to_string(param.shape()), ", from ", cfg_path, "'s keys)");
    if (file.shape(off) != param.shape())
      fail("tensor '", off, "' has shape ", to_string(file.shape(off)), " but ", cfg_path, " (d_model ", c.d_model,
           ", d_hidden ", c.d_hidden, ", n_vocab ", c.vocab, ") needs ", to_string(param.shape()));
    const std::string& dt = file.dtype(off);
    if (dt != "F32" && dt != "BF16" && dt != "F16" && dt != "F64")
      fail("tensor '", off, "' has dtype ", dt, "; weights must be F32, BF16, F16 or F64");
    file.read_into(off, param.data());
    used.insert(off);
  }
  const auto want = official_inv_freq(c.d_head());
  for (index_t i = 0; i < c.n_layer; ++i) {
    const std::string n = detail::official_block_prefix(i) + "attn.rotary.inv_freq";
    if (!file.contains(n)) continue;
    if (file.shape(n) != Shape{c.d_head() / 2})
      fail("tensor '", n, "' has shape ", to_string(file.shape(n)), ", expected [", c.d_head() / 2, "] (d_head / 2)");
    std::vector<float> got(want.size());
    file.read_into(n, got.data());
    // A half-precision file holds the frequencies rounded; bilin computes them exactly.
    const std::string& dt = file.dtype(n);
    const float tol = dt == "BF16" ? 1.0f / 128 : dt == "F16" ? 1.0f / 1024 : 1e-5f;
    for (std::size_t k = 0; k < got.size(); ++k)
      if (std::fabs(got[k] - want[k]) > tol * std::fabs(want[k]))
        fail("tensor '", n, "'[", k, "] = ", got[k], " is not the rotary frequency of base 10000 (", want[k],
             "); bilin reads only base-10000 models");
    used.insert(n);
  }
  for (const auto& n : file.names())
    if (!used.count(n)) fail("unexpected tensor '", n, "' (not part of the model ", cfg_path, " describes)");
  model->eval();
  return model;
}

inline void save_official_lm(const std::string& folder, const nn::Transformer<float>& model,
                             const std::map<std::string, json::Value>& extra = {}) {
  namespace fs = std::filesystem;
  const nn::TransformerConfig& c = model.config();
  json::Value cj = official_config_json(c);
  for (const auto& [k, v] : extra) cj[k] = v;
  std::error_code ec;
  fs::create_directories(folder, ec);
  BILIN_CHECK(fs::is_directory(folder), kOfficialOp, folder, ": cannot create the folder (", ec.message(), ")");
  std::vector<std::pair<std::string, io::AnyTensor>> tensors;
  const auto inv = official_inv_freq(c.d_head());
  const auto freq = TensorF::from_vector(inv, {static_cast<index_t>(inv.size())});
  for (const auto& [name, t] : model.state_dict()) {
    tensors.emplace_back(nn::Transformer<float>::official_name(name), t.contiguous());
    // The official Rotary registers inv_freq as a (persistent) buffer right before qkv.
    const auto p = name.find(".attn.qkv.weight");
    if (p != std::string::npos) {
      const std::string n = name.substr(0, p) + ".attn.rotary.inv_freq";
      tensors.insert(tensors.end() - 1, {n, freq});
    }
  }
  io::save_safetensors((fs::path(folder) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  io::write_file_atomic((fs::path(folder) / "config.json").string(), cj.dump(2) + "\n");
}

}  // namespace bilin::train
