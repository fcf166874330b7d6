// tests/fuzz/fuzz_token_cache.cpp — data/token_cache.hpp TokenCache::open / read_token_cache on
// any bytes. The checksums would stop almost every mutation at the CRC check, so each input is
// also tried with its two CRC fields recomputed, which lets the fuzzer reach the size and id
// checks behind them. Contract: bilin::Error, or ids that write_token_cache writes back to
// exactly the input bytes (the layout leaves no freedom).
#include "bilin/data/token_cache.hpp"

#include "fuzz_common.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

namespace {

void check_cache(bilin_fuzz::MemFile& file, std::string_view bytes) {
  std::vector<data::token_t> ids;
  std::uint64_t vocab = 0;
  if (!accepts([&] { ids = data::read_token_cache(file.set(bytes), &vocab); })) return;
  const std::string out = bilin_fuzz::scratch_dir() + "/rt.tok";
  FUZZ_EXPECT(accepts([&] { data::write_token_cache(out, ids, vocab); }));
  FUZZ_EXPECT(bilin_fuzz::slurp(out) == bytes);
}

}  // namespace

BILIN_FUZZ_TARGET(token_cache) {
  static bilin_fuzz::MemFile file;
  check_cache(file, input);
  namespace f = data::token_cache_format;
  if (input.size() < f::kHeaderBytes) return;
  std::string fixed(input);
  auto* p = reinterpret_cast<unsigned char*>(fixed.data());
  f::put_le(p + 32, f::crc32(p + f::kHeaderBytes, fixed.size() - f::kHeaderBytes), 4);
  f::put_le(p + 36, f::crc32(p, f::kHeaderCrcOffset), 4);
  if (fixed != input) check_cache(file, fixed);
}
