// bilin/io/result_bundle.hpp — analysis results as a safetensors file plus a JSON index, so a
// NumPy/PyTorch user can continue from them.
//
// Contract:
// - ResultBundle collects named tensors (any safetensors dtype, io/safetensors.hpp), each with a
//   one-line description, and free-form JSON fields (info()[key] = value).
// - write(dir, stem) writes dir/stem.safetensors (tensors in insertion order; its
//   "__metadata__" holds {"format": FORMAT, "index": "stem.json"}) and then dir/stem.json:
//     {"format": FORMAT, "safetensors": "stem.safetensors",
//      "tensors": {name: {"shape": [...], "dtype": "F32", "description": "..."}, ...},
//      ...every info() field}
//   Both are written atomically (io/atomic_file.hpp), the safetensors file first, so a JSON
//   index never names a file that is not complete. Returns the two paths.
// - Errors (bilin::Error, op "ResultBundle"): an empty or repeated tensor name, an info() key
//   that collides with "format", "safetensors" or "tensors", a stem with characters outside
//   [A-Za-z0-9._-].
#pragma once
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "atomic_file.hpp"
#include "json.hpp"
#include "safetensors.hpp"

namespace bilin::io {

inline constexpr const char* kResultBundleFormat = "bilin-results-1";

class ResultBundle {
 public:
  ResultBundle& add(const std::string& name, AnyTensor t, const std::string& description) {
    BILIN_CHECK(!name.empty(), "ResultBundle", "tensor name is empty");
    for (const auto& e : tensors_)
      BILIN_CHECK(e.first != name, "ResultBundle", "tensor '", name, "' added twice");
    tensors_.emplace_back(name, std::move(t));
    descriptions_.push_back(description);
    return *this;
  }
  json::Value& info() { return info_; }
  std::size_t size() const { return tensors_.size(); }

  std::pair<std::string, std::string> write(const std::string& dir, const std::string& stem) const {
    BILIN_CHECK(!stem.empty(), "ResultBundle", "file stem is empty");
    for (char c : stem)
      BILIN_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-', "ResultBundle",
                  "file stem '", stem, "' has a character outside [A-Za-z0-9._-]");
    json::Value index = json::Value::object();
    index["format"] = kResultBundleFormat;
    index["safetensors"] = stem + ".safetensors";
    json::Value ts = json::Value::object();
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      json::Value e = json::Value::object();
      std::vector<index_t> shape(tensors_[i].second.shape().begin(), tensors_[i].second.shape().end());
      e["shape"] = json::Value::array_of(shape);
      e["dtype"] = tensors_[i].second.dtype();
      e["description"] = descriptions_[i];
      ts[tensors_[i].first] = e;
    }
    index["tensors"] = ts;
    if (info_.is_object())
      for (const auto& [k, v] : info_.as_object()) {
        BILIN_CHECK(k != "format" && k != "safetensors" && k != "tensors", "ResultBundle", "info key '", k,
                    "' is reserved");
        index[k] = v;
      }
    const std::string st = dir + "/" + stem + ".safetensors", js = dir + "/" + stem + ".json";
    save_safetensors(st, tensors_, {{"format", kResultBundleFormat}, {"index", stem + ".json"}});
    write_file_atomic(js, index.dump(1) + "\n");
    return {st, js};
  }

 private:
  std::vector<std::pair<std::string, AnyTensor>> tensors_;
  std::vector<std::string> descriptions_;
  json::Value info_ = json::Value::object();
};

}  // namespace bilin::io
