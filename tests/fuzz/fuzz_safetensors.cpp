// tests/fuzz/fuzz_safetensors.cpp — io/safetensors.hpp on any bytes: decode_safetensors,
// load_safetensors, SafetensorsReader and read_checkpoint_metadata.
// Contract: bilin::Error, or a TensorMap that save_safetensors writes and load_safetensors
// reads back with the same names, order, shapes, dtypes, element bytes and metadata; saving
// that again gives the same file bytes; SafetensorsReader and read_checkpoint_metadata accept
// every file decode_safetensors accepts and give the same values.
#include "bilin/io/safetensors.hpp"

#include <cstring>

#include "fuzz_common.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

namespace {

bool same_any(const io::AnyTensor& a, const io::AnyTensor& b) {
  if (std::string(a.dtype()) != b.dtype() || a.shape() != b.shape()) return false;
  return std::visit(
      [&](const auto& ta) {
        using T = typename std::decay_t<decltype(ta)>::value_type;
        const auto& tb = std::get<Tensor<T>>(b.variant());
        const auto va = ta.to_vector(), vb = tb.to_vector();
        return va.size() == vb.size() && (va.empty() || std::memcmp(va.data(), vb.data(), va.size() * sizeof(T)) == 0);
      },
      a.variant());
}

bool same_map(const io::TensorMap& a, const io::TensorMap& b) {
  if (a.size() != b.size() || a.metadata != b.metadata) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a.entries()[i].first != b.entries()[i].first || !same_any(a.entries()[i].second, b.entries()[i].second))
      return false;
  return true;
}

}  // namespace

BILIN_FUZZ_TARGET(safetensors) {
  static bilin_fuzz::MemFile file;
  const std::string& path = file.set(input);
  io::TensorMap m;
  const bool ok = accepts([&] { m = io::decode_safetensors(input, "<fuzz>"); });
  io::TensorMap from_file;
  const bool ok_file = accepts([&] { from_file = io::load_safetensors(path); });
  FUZZ_EXPECT(ok == ok_file);
  // The streaming reader runs the same header checks; it does not decode integer payloads, so it
  // may accept a file whose U64 values do not fit int64.
  std::unique_ptr<io::SafetensorsReader> reader;
  const bool ok_reader = accepts([&] { reader = std::make_unique<io::SafetensorsReader>(path); });
  std::map<std::string, std::string> meta;
  const bool ok_meta = accepts([&] { meta = io::read_checkpoint_metadata(path); });
  if (!ok) return;
  FUZZ_EXPECT(same_map(m, from_file));
  FUZZ_EXPECT(ok_reader && ok_meta);
  FUZZ_EXPECT(meta == m.metadata);
  FUZZ_EXPECT(reader->metadata == m.metadata);
  for (const auto& entry : m) {
    const std::string& name = entry.first;  // a plain reference: clang 14 lambdas cannot capture bindings
    const io::AnyTensor& t = entry.second;
    FUZZ_EXPECT(reader->contains(name) && reader->shape(name) == t.shape() && reader->dtype(name) == t.file_dtype());
    const std::string dt = t.file_dtype();
    if (dt == "F32" || dt == "F64" || dt == "F16" || dt == "BF16") {
      std::vector<double> got(static_cast<std::size_t>(t.numel()));
      FUZZ_EXPECT(accepts([&] { reader->read_into<double>(name, got.data()); }));
      const auto want = t.get<double>(name).to_vector();
      FUZZ_EXPECT(want.size() == got.size() &&
                  (want.empty() || std::memcmp(want.data(), got.data(), want.size() * sizeof(double)) == 0));
    } else {
      std::vector<float> dst(static_cast<std::size_t>(t.numel()));
      FUZZ_EXPECT(!accepts([&] { reader->read_into<float>(name, dst.data()); }));
    }
  }
  // write → read round trip, and a second write is byte-identical to the first
  const std::string out = bilin_fuzz::scratch_dir() + "/rt.safetensors";
  FUZZ_EXPECT(accepts([&] { io::save_safetensors(out, m); }));
  io::TensorMap back;
  FUZZ_EXPECT(accepts([&] { back = io::load_safetensors(out); }));
  FUZZ_EXPECT(same_map(m, back));
  const std::string first = bilin_fuzz::slurp(out);
  FUZZ_EXPECT(accepts([&] { io::save_safetensors(out, back); }));
  FUZZ_EXPECT(bilin_fuzz::slurp(out) == first);
}
