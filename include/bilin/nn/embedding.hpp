// bilin/nn/embedding.hpp — token embedding table.
//
// Contract: Embedding(vocab, dim, gen) owns "weight" [vocab, dim] drawn from N(0, 1) (what
// torch.nn.Embedding does). forward(ids) with ids a Tensor<int64_t> of any shape returns
// [..., dim], the rows picked by ids; the gradient of repeated ids adds up (ops/indexing.hpp).
// An id outside [0, vocab) throws bilin::Error("index_select", ...) naming it and its position.
#pragma once
#include "../ops/indexing.hpp"
#include "init.hpp"
#include "module.hpp"

namespace bilin::nn {

template <class T>
class Embedding : public Module<T> {
 public:
  Embedding(index_t vocab, index_t dim, Generator& gen) : vocab_(vocab), dim_(dim) {
    BILIN_CHECK(vocab > 0 && dim > 0, "Embedding", "vocab and dim must be positive, got ", vocab, " × ", dim);
    weight = this->register_parameter("weight", init::normal<T>({vocab, dim}, gen, 1.0));
  }
  Tensor<T> forward(const IndexTensor& ids) { return embedding(weight, ids); }
  Tensor<T> operator()(const IndexTensor& ids) { return forward(ids); }
  index_t vocab() const { return vocab_; }
  index_t dim() const { return dim_; }

  Tensor<T> weight;

 private:
  index_t vocab_, dim_;
};

}  // namespace bilin::nn
