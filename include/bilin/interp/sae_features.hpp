// bilin/interp/sae_features.hpp — what each SAE latent responds to: feature-dashboard data.
//
// Contract: sae_features(model, sae, target, tokens, ctx, starts, top_n) encodes the hook
// point's activations at positions 1..ctx−1 of the windows tokens[s .. s+ctx) and returns, for
// every latent, how often it fired (count, frequency = count / positions) and its top_n largest
// activations with where they happened (token offset in `tokens`), largest first (ties: earlier
// position first). features_json(f, tokens, decode, before, after) renders them as JSON
// {"positions": N, "latents": [{"latent", "count", "frequency", "top": [{"value", "offset",
// "context"}]}]} where context is the decoded tokens [offset − before, offset + after] with the
// activating token marked as «token». decode turns a run of token ids into its text; bytes
// that do not form valid UTF-8 (a character split between tokens at the window's edge or at
// the marks) become U+FFFD, so the JSON is always valid UTF-8.
// No autograd graph is built; the model runs only up to the target's layer.
#pragma once
#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "../io/json.hpp"
#include "../nn/sae.hpp"
#include "../train/activation_buffer.hpp"

namespace bilin::interp {

struct LatentActivation {
  float value = 0;
  std::uint64_t offset = 0;  // token index in the text
};

struct SaeFeatures {
  index_t positions = 0;
  std::vector<std::int64_t> count;                   // [n]
  std::vector<std::vector<LatentActivation>> top;   // [n][≤ top_n], largest first
};

inline SaeFeatures sae_features(nn::Transformer<float>& model, nn::TopKSAE<float>& sae, const train::HookTarget& target,
                                std::span<const data::token_t> tokens, index_t ctx,
                                std::span<const std::uint64_t> starts, index_t top_n, index_t batch = 16) {
  BILIN_CHECK(top_n >= 0, "sae_features", "top_n must be >= 0, got ", top_n);
  NoGradGuard ng;
  const index_t n = sae.n_latents();
  SaeFeatures f;
  f.count.assign(static_cast<std::size_t>(n), 0);
  f.top.assign(static_cast<std::size_t>(n), {});
  auto better = [](const LatentActivation& a, const LatentActivation& b) {
    return a.value > b.value || (a.value == b.value && a.offset < b.offset);
  };
  for (std::size_t w0 = 0; w0 < starts.size(); w0 += static_cast<std::size_t>(batch)) {
    const auto ws = starts.subspan(w0, std::min(starts.size() - w0, static_cast<std::size_t>(batch)));
    const TensorF x = train::harvest(model, tokens, ctx, ws, {target})[0];
    const SparseCode<float> code = sae.encode(x);
    const index_t k = code.values.size(1);
    for (index_t e = 0; e < code.values.numel(); ++e) {
      const float v = code.values.data()[e];
      if (v == 0.0f) continue;
      const auto j = static_cast<std::size_t>(code.indices.data()[e]);
      const index_t row = e / k;
      const std::uint64_t offset = ws[static_cast<std::size_t>(row / (ctx - 1))] + static_cast<std::uint64_t>(row % (ctx - 1) + 1);
      ++f.count[j];
      auto& t = f.top[j];
      const LatentActivation a{v, offset};
      if (static_cast<index_t>(t.size()) < top_n) {
        t.insert(std::upper_bound(t.begin(), t.end(), a, better), a);
      } else if (top_n > 0 && better(a, t.back())) {
        t.pop_back();
        t.insert(std::upper_bound(t.begin(), t.end(), a, better), a);
      }
    }
    f.positions += x.size(0);
  }
  return f;
}

// s with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
inline std::string utf8_or_replacement(const std::string& s) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= n && !(len == 2 && c < 0xC2);
    for (std::size_t j = 1; ok && j < len; ++j) ok = (p[i + j] & 0xC0) == 0x80;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

inline json::Value features_json(const SaeFeatures& f, std::span<const data::token_t> tokens,
                                 const std::function<std::string(std::span<const data::token_t>)>& decode,
                                 index_t before = 12, index_t after = 4) {
  json::Value latents = json::Value::array();
  for (std::size_t j = 0; j < f.count.size(); ++j) {
    json::Value l = json::Value::object();
    l["latent"] = static_cast<index_t>(j);
    l["count"] = f.count[j];
    l["frequency"] = f.positions ? static_cast<double>(f.count[j]) / static_cast<double>(f.positions) : 0.0;
    json::Value top = json::Value::array();
    for (const auto& a : f.top[j]) {
      const std::uint64_t lo = a.offset >= static_cast<std::uint64_t>(before) ? a.offset - static_cast<std::uint64_t>(before) : 0;
      const std::uint64_t hi = std::min<std::uint64_t>(tokens.size() - 1, a.offset + static_cast<std::uint64_t>(after));
      const std::string ctx = utf8_or_replacement(decode(tokens.subspan(lo, a.offset - lo))) + "\u00ab" +
                              utf8_or_replacement(decode(tokens.subspan(a.offset, 1))) + "\u00bb" +
                              utf8_or_replacement(decode(tokens.subspan(a.offset + 1, hi - a.offset)));
      json::Value e = json::Value::object();
      e["value"] = a.value;
      e["offset"] = static_cast<std::int64_t>(a.offset);
      e["context"] = ctx;
      top.push_back(e);
    }
    l["top"] = top;
    latents.push_back(l);
  }
  json::Value r = json::Value::object();
  r["positions"] = f.positions;
  r["latents"] = latents;
  return r;
}

}  // namespace bilin::interp
