// bilin/nn/classifier.hpp — the paper's image classifier: embed → bilinear block(s) → head.
//
// Contract:
// - ImageClassifier<T>(config, gen) builds, in this order (so one seed gives one model):
//     "embed.weight"    [d_hidden, d_input]   Linear without bias (absent when embed = false)
//     "blocks.{i}.weight" [2·d_hidden, d_in_i] a Bilinear / GLU layer d_in_i → d_hidden
//                       (kind Relu: a Linear d_in_i → d_hidden followed by relu, weight
//                       [d_hidden, d_in_i]); "blocks.{i}.bias" when bias
//     "head.weight"     [d_output, d_hidden]  Linear without bias
//   d_in_i = d_hidden, except block 0 of a model without embedding, which reads the pixels
//   directly (d_in_0 = d_input). This is exactly the state_dict layout of the official code
//   (tdooms/bilinear-decomposition src/image/model.py), so checkpoints map one to one.
// - forward(x): x [N, d_input] (or [N, 28, 28], flattened from axis 1) → logits [N, d_output].
//   With residual, block i computes h + block(h); a block that changes the width (block 0
//   without embedding) cannot be residual and is applied plainly.
// - Training-only regularizers of the App. B ablations, on the first block's input (the embedding
//   output, or the pixels without embedding), in training mode only: dropout (inverted, rate
//   `dropout`, nn/dropout.hpp) and "model noise" (Gaussian noise of std `model_noise` added to
//   every element). Their randomness comes from a generator seeded by one draw from `gen` AFTER
//   all parameters are initialized, so they never change a model's initial weights;
//   rng_counters()/set_rng_counters() expose its state so training checkpoints carry it (a
//   resumed run with them is bit-identical too). Eval mode: identity.
// - ClassifierConfig::to_json()/from_json() round-trip every field; from_json names the
//   offending key on a bad value. Checkpoints store this JSON in their metadata.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../io/json.hpp"
#include "bilinear.hpp"
#include "dropout.hpp"
#include "linear.hpp"
#include "module.hpp"

namespace bilin::nn {

struct ClassifierConfig {
  index_t d_input = 784, d_hidden = 512, d_output = 10, n_layer = 1;
  MlpKind kind = MlpKind::Bilinear;
  bool bias = false, residual = false, embed = true;
  double dropout = 0, model_noise = 0;  // training-only regularizers (App. B ablations)

  json::Value to_json_value() const {
    json::Value v = json::Value::object();
    v["d_input"] = d_input;
    v["d_hidden"] = d_hidden;
    v["d_output"] = d_output;
    v["n_layer"] = n_layer;
    v["kind"] = mlp_kind_name(kind);
    v["bias"] = bias;
    v["residual"] = residual;
    v["embed"] = embed;
    if (dropout > 0) v["dropout"] = dropout;
    if (model_noise > 0) v["model_noise"] = model_noise;
    return v;
  }
  std::string to_json() const { return to_json_value().dump(); }

  static ClassifierConfig from_json_value(const json::Value& v) {
    BILIN_CHECK(v.is_object(), "ClassifierConfig", "expected a JSON object, got ", v.type_name());
    ClassifierConfig c;
    auto int_field = [&](const char* key, index_t& out) {
      if (const json::Value* f = v.find(key)) {
        BILIN_CHECK(f->is_int() && f->as_int() > 0, "ClassifierConfig", "'", key, "' must be a positive integer, got ",
                    f->dump());
        out = f->as_int();
      }
    };
    auto bool_field = [&](const char* key, bool& out) {
      if (const json::Value* f = v.find(key)) {
        BILIN_CHECK(f->is_bool(), "ClassifierConfig", "'", key, "' must be true or false, got ", f->dump());
        out = f->as_bool();
      }
    };
    int_field("d_input", c.d_input);
    int_field("d_hidden", c.d_hidden);
    int_field("d_output", c.d_output);
    int_field("n_layer", c.n_layer);
    if (const json::Value* f = v.find("kind")) {
      BILIN_CHECK(f->is_string(), "ClassifierConfig", "'kind' must be a string, got ", f->dump());
      c.kind = parse_mlp_kind(f->as_string());
    }
    bool_field("bias", c.bias);
    bool_field("residual", c.residual);
    bool_field("embed", c.embed);
    for (const auto& [key, out] : {std::pair<const char*, double*>{"dropout", &c.dropout}, {"model_noise", &c.model_noise}})
      if (const json::Value* f = v.find(key)) {
        BILIN_CHECK(f->is_number() && f->as_double() >= 0, "ClassifierConfig", "'", key,
                    "' must be a non-negative number, got ", f->dump());
        *out = f->as_double();
      }
    return c;
  }
  static ClassifierConfig from_json(const std::string& text) { return from_json_value(json::parse(text)); }
};

template <class T>
class ImageClassifier : public Layer<T> {
 public:
  ImageClassifier(const ClassifierConfig& config, Generator& gen) : config_(config) {
    const ClassifierConfig& c = config_;
    BILIN_CHECK(c.d_input > 0 && c.d_hidden > 0 && c.d_output > 0 && c.n_layer >= 0, "ImageClassifier",
                "sizes must be positive (d_input ", c.d_input, ", d_hidden ", c.d_hidden, ", d_output ", c.d_output,
                ", n_layer ", c.n_layer, ")");
    if (c.embed) embed = this->register_module("embed", std::make_shared<Linear<T>>(c.d_input, c.d_hidden, false, gen));
    // A holder module so the blocks are named "blocks.0", "blocks.1", ... like nn.ModuleList.
    blocks_holder_ = this->register_module("blocks", std::make_shared<Sequential<T>>());
    for (index_t i = 0; i < c.n_layer; ++i) {
      const index_t d_in = (i == 0 && !c.embed) ? c.d_input : c.d_hidden;
      blocks.push_back(blocks_holder_->add(make_up_projection<T>(c.kind, d_in, c.d_hidden, c.bias, gen)));
      block_in_.push_back(d_in);
    }
    head = this->register_module("head", std::make_shared<Linear<T>>(c.n_layer || c.embed ? c.d_hidden : c.d_input,
                                                                      c.d_output, false, gen));
    BILIN_CHECK(c.dropout >= 0 && c.dropout < 1 && c.model_noise >= 0, "ImageClassifier", "dropout ", c.dropout,
                " must be in [0, 1) and model_noise ", c.model_noise, " >= 0");
    if (c.dropout > 0 || c.model_noise > 0) {
      const std::uint64_t s = gen.next_u64();
      dropout_ = std::make_unique<Dropout<T>>(c.dropout, s);
      noise_gen_ = std::make_unique<Generator>(s ^ 0x5DEECE66Dull);
    }
  }

  Tensor<T> forward(const Tensor<T>& input) override {
    Tensor<T> x = input.dim() > 2 ? input.flatten(1) : input;
    BILIN_CHECK(x.dim() == 2 && x.size(1) == config_.d_input, "ImageClassifier", "input of shape ",
                to_string(input.shape()), " does not have ", config_.d_input, " features per sample");
    if (embed) x = embed->forward(x);
    if (dropout_ && this->is_training()) {
      dropout_->train();
      x = dropout_->forward(x);
      if (config_.model_noise > 0) {
        Tensor<T> n = Tensor<T>::empty(x.shape());
        noise_gen_->fill_normal(n.data(), n.numel(), 0.0, config_.model_noise);
        x = x + n;
      }
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      const bool res = config_.residual && block_in_[i] == config_.d_hidden;
      x = res ? x + blocks[i]->forward(x) : blocks[i]->forward(x);
    }
    return head->forward(x);
  }

  const ClassifierConfig& config() const { return config_; }

  // Counters of the training-time randomness (dropout mask, model noise; both generators are
  // seeded from `gen` at construction), for checkpoints that resume bit-identically. Empty
  // when the model uses neither.
  std::vector<std::uint64_t> rng_counters() const {
    if (!dropout_) return {};
    return {dropout_->generator().counter(), noise_gen_->counter()};
  }
  void set_rng_counters(const std::vector<std::uint64_t>& c) {
    BILIN_CHECK(c.size() == rng_counters().size(), "ImageClassifier", "expected ", rng_counters().size(),
                " random-generator counters, got ", c.size());
    if (!dropout_) return;
    dropout_->generator().set_state(dropout_->generator().seed(), c[0]);
    noise_gen_->set_state(noise_gen_->seed(), c[1]);
  }

  std::shared_ptr<Linear<T>> embed;
  std::vector<std::shared_ptr<Layer<T>>> blocks;
  std::shared_ptr<Linear<T>> head;

 private:
  ClassifierConfig config_;
  std::shared_ptr<Sequential<T>> blocks_holder_;
  std::vector<index_t> block_in_;
  std::unique_ptr<Dropout<T>> dropout_;
  std::unique_ptr<Generator> noise_gen_;
};

}  // namespace bilin::nn
