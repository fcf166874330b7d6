// bilin/io/json_file.hpp — a JSON document read from a file.
//
// Contract: read_json_file(path, op) returns the parsed document; an unreadable file or invalid
// JSON throws bilin::Error(op, "<path>: ...") naming the file and, for a syntax error, the byte
// offset and reason. A file larger than json::kMaxDocumentBytes is refused from its size alone,
// before any of it is read. require_key / optional_key read one member of an object and throw
// bilin::Error(op, "<path>: key '<key>' ...") when it is missing (require_key) or of the wrong
// JSON type, so a config file's errors always name the file and the key.
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "atomic_file.hpp"
#include "json.hpp"

namespace bilin::io {

inline json::Value read_json_file(const std::string& path, const char* op) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) > json::kMaxDocumentBytes)
    throw Error(op, msg(path, ": file of ", st.st_size, " bytes exceeds the ", json::kMaxDocumentBytes >> 20,
                        " MiB limit for a JSON document"));
  const std::string text = read_file(path, op);
  try {
    return json::parse(text);
  } catch (const json::ParseError& e) {
    throw Error(op, msg(path, ": invalid JSON at byte ", e.offset(), ": ", e.reason()));
  }
}

// What a JSON value must be: checked by json_key.
enum class JsonKind { Int, Bool, Number, String, StringOrNull, Any };

// The member `key` of object `obj` read from `path`, or nullptr when absent and !required.
inline const json::Value* json_key(const json::Value& obj, const std::string& key, JsonKind kind, bool required,
                                   const std::string& path, const char* op) {
  BILIN_CHECK(obj.is_object(), op, path, ": the document must be a JSON object, got ", obj.type_name());
  const json::Value* v = obj.find(key);
  if (!v) {
    BILIN_CHECK(!required, op, path, ": key '", key, "' is missing");
    return nullptr;
  }
  bool ok = true;
  const char* want = "";
  switch (kind) {
    case JsonKind::Int: ok = v->is_int(); want = "an integer"; break;
    case JsonKind::Bool: ok = v->is_bool(); want = "true or false"; break;
    case JsonKind::Number: ok = v->is_number(); want = "a number"; break;
    case JsonKind::String: ok = v->is_string(); want = "a string"; break;
    case JsonKind::StringOrNull: ok = v->is_string() || v->is_null(); want = "a string or null"; break;
    case JsonKind::Any: break;
  }
  BILIN_CHECK(ok, op, path, ": key '", key, "' must be ", want, ", got ", v->dump());
  return v;
}

}  // namespace bilin::io
