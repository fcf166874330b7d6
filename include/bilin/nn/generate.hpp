// bilin/nn/generate.hpp — sampling text from a Transformer with a key/value cache.
//
// Contract:
// - SamplingOptions: temperature (> 0 samples from softmax(logits / temperature); 0 is greedy
//   argmax), top_k (> 0 keeps only the k largest logits; ties at the k-th value are kept),
//   seed (bilin::Generator: the same seed, model and prompt give the same tokens on every
//   platform), stop_token (generation ends after emitting it; −1 = never).
// - sample_token(logits, V, options, gen) draws one id from a row of logits.
// - generate(model, prompt, n_new, options, on_token) feeds the prompt once (one batched
//   forward through the cache), then produces up to n_new tokens one at a time, each costing
//   one forward_step of a single token: O(context · d_model) attention work, never a
//   recomputation of the whole context. When the context reaches n_ctx, the cache is rebuilt
//   from the most recent n_ctx/2 tokens (positions restart at 0), so the amortized cost per
//   token stays O(context). on_token(id) is called for each new id (return false to stop).
//   Returns the new ids (not the prompt). An empty prompt throws (the model needs a first
//   token; pass the end-of-text id to start a fresh story).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "transformer.hpp"

namespace bilin::nn {

struct SamplingOptions {
  double temperature = 1.0;
  index_t top_k = 0;
  std::uint64_t seed = 0;
  std::int64_t stop_token = -1;
};

template <class T>
std::int64_t sample_token(const T* logits, index_t V, const SamplingOptions& o, Generator& gen) {
  BILIN_CHECK(V > 0, "sample_token", "empty logits");
  BILIN_CHECK(o.temperature >= 0 && std::isfinite(o.temperature), "sample_token",
              "temperature must be finite and >= 0, got ", o.temperature);
  if (o.temperature == 0) return static_cast<std::int64_t>(std::max_element(logits, logits + V) - logits);
  double cut = -INFINITY;  // logits below the k-th largest are dropped
  if (o.top_k > 0 && o.top_k < V) {
    std::vector<T> tmp(logits, logits + V);
    std::nth_element(tmp.begin(), tmp.begin() + (o.top_k - 1), tmp.end(), std::greater<T>());
    cut = static_cast<double>(tmp[static_cast<std::size_t>(o.top_k - 1)]);
  }
  const double m = static_cast<double>(*std::max_element(logits, logits + V));
  std::vector<double> p(static_cast<std::size_t>(V));
  double total = 0;
  for (index_t i = 0; i < V; ++i) {
    const double l = static_cast<double>(logits[i]);
    p[i] = l >= cut ? std::exp((l - m) / o.temperature) : 0.0;
    total += p[i];
  }
  double u = gen.uniform() * total;
  for (index_t i = 0; i < V; ++i) {
    if (p[i] == 0) continue;
    if (u < p[i]) return i;
    u -= p[i];
  }
  for (index_t i = V; i-- > 0;)  // rounding left u just past the end: take the last kept id
    if (p[i] > 0) return i;
  return 0;
}

template <class T>
std::vector<std::int64_t> generate(Transformer<T>& model, const std::vector<std::int64_t>& prompt, index_t n_new,
                                   const SamplingOptions& o = {},
                                   const std::function<bool(std::int64_t)>& on_token = {}) {
  BILIN_CHECK(!prompt.empty(), "generate", "the prompt is empty; start with at least one token (e.g. end-of-text)");
  const index_t V = model.config().vocab, ctx = model.config().n_ctx;
  for (std::size_t i = 0; i < prompt.size(); ++i)
    BILIN_CHECK(prompt[i] >= 0 && prompt[i] < V, "generate", "prompt token ", prompt[i], " at position ", i,
                " is outside the vocabulary [0, ", V, ")");
  NoGradGuard ng;
  Generator gen(o.seed);
  auto caches = model.make_caches();
  std::vector<std::int64_t> history = prompt, out;
  // (Re)fill the cache from the last `keep` tokens of the history; returns the next logits.
  auto refill = [&](index_t keep) {
    for (auto& c : caches) c.clear();
    const index_t n = static_cast<index_t>(history.size());
    keep = std::min(keep, n);
    std::vector<std::int64_t> tail(history.end() - keep, history.end());
    return model.forward_step(IndexTensor::from_vector(tail), caches);
  };
  Tensor<T> logits = refill(ctx);
  for (index_t s = 0; s < n_new; ++s) {
    const std::int64_t id = sample_token(logits.data(), V, o, gen);
    out.push_back(id);
    history.push_back(id);
    if (on_token && !on_token(id)) break;
    if (id == o.stop_token || s + 1 == n_new) break;
    if (caches[0].len >= ctx) logits = refill(std::max<index_t>(1, ctx / 2));
    else logits = model.forward_step(IndexTensor::from_vector({id}), caches);
  }
  return out;
}

}  // namespace bilin::nn
