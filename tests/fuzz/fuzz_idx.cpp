// tests/fuzz/fuzz_idx.cpp — data/idx.hpp: read_idx / read_idx_images / read_idx_labels on any
// bytes, plain or gzip. Contract: bilin::Error, or a tensor whose re-encoding reads back equal,
// and for a plain file re-encodes to exactly the input bytes (the format has no slack).
#include "bilin/data/idx.hpp"

#include <cstring>

#include "fuzz_common.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

namespace {

bool same_tensor(const Tensor<std::uint8_t>& a, const Tensor<std::uint8_t>& b) {
  return a.shape() == b.shape() && (a.numel() == 0 || std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.numel())) == 0);
}

}  // namespace

BILIN_FUZZ_TARGET(idx) {
  static bilin_fuzz::MemFile file;
  const std::string& path = file.set(input);
  Tensor<std::uint8_t> t;
  const bool ok = accepts([&] { t = data::read_idx(path); });
  const bool gz = input.size() >= 2 && static_cast<unsigned char>(input[0]) == 0x1f &&
                  static_cast<unsigned char>(input[1]) == 0x8b;
  // The typed readers agree with the untyped one on files of their kind.
  Tensor<std::uint8_t> ti, tl;
  const bool ok_i = accepts([&] { ti = data::read_idx_images(path); });
  const bool ok_l = accepts([&] { tl = data::read_idx_labels(path); });
  if (ok_i) FUZZ_EXPECT(ok && t.dim() == 3 && same_tensor(t, ti));
  if (ok_l) FUZZ_EXPECT(ok && t.dim() == 1 && same_tensor(t, tl));
  if (!ok) return;
  if (ok && t.dim() == 3) FUZZ_EXPECT(ok_i);
  if (ok && t.dim() == 1) FUZZ_EXPECT(ok_l);

  const std::string enc = data::encode_idx(t.shape(), t.data());
  if (!gz) FUZZ_EXPECT(enc == input);
  // raw and gzip re-encodings read back to the same tensor
  for (const std::string& bytes : {enc, data::gzip_bytes(enc)}) {
    Tensor<std::uint8_t> back;
    FUZZ_EXPECT(accepts([&] { back = data::read_idx(file.set(bytes)); }));
    FUZZ_EXPECT(same_tensor(t, back));
  }
}
