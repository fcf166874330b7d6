// tests/fuzz/fuzz_json.cpp — io/json.hpp parse() and io/json_file.hpp read_json_file() on any
// bytes. Contract: bilin::json::ParseError (a bilin::Error) with an offset inside the input, or
// a value whose compact and pretty dumps parse back to an equal value, and dump() is a fixed
// point (dump(parse(dump(v))) == dump(v)).
#include "bilin/io/json.hpp"
#include "bilin/io/json_file.hpp"

#include "fuzz_common.hpp"

using namespace bilin;
using bilin_fuzz::accepts;

BILIN_FUZZ_TARGET(json) {
  json::Value v;
  bool ok = false;
  try {
    v = json::parse(input);
    ok = true;
  } catch (const json::ParseError& e) {
    FUZZ_EXPECT(e.offset() <= input.size());
    FUZZ_EXPECT(!e.reason().empty());
  } catch (...) {
    FUZZ_EXPECT(!"json::parse threw something other than json::ParseError");
  }
  static bilin_fuzz::MemFile file;
  json::Value from_file;
  const bool ok_file = accepts([&] { from_file = io::read_json_file(file.set(input), "fuzz_json"); });
  FUZZ_EXPECT(ok == ok_file);
  if (!ok) return;
  FUZZ_EXPECT(from_file == v);
  const std::string compact = v.dump();
  json::Value back;
  FUZZ_EXPECT(accepts([&] { back = json::parse(compact); }));
  FUZZ_EXPECT(back == v);
  FUZZ_EXPECT(back.dump() == compact);
  json::Value pretty;
  FUZZ_EXPECT(accepts([&] { pretty = json::parse(v.dump(2)); }));
  FUZZ_EXPECT(pretty == v);
}
