// bilin/io/flags.hpp — the command-line flag table every bilin program uses.
//
// Contract: a program declares each flag once (name, default, help text); parse() reads argv,
// prints a generated usage text for --help / -h (parse() then returns false and the program
// exits 0), and throws bilin::Error("<program>", …) naming the flag for anything else that is
// wrong: an unknown flag (with the closest known name as a hint), a missing value, a flag given
// twice, a positional argument, a value for a switch. Typed reads (integer, real, choice, and
// the comma-separated list() / reals()) throw naming the flag and the bad value. Values are
// taken as `--name VALUE` or `--name=VALUE`; a value may start with '-' (`--lr -1`). Switches
// take no value.
// given() tells a user's explicit value from the default, so a program can let individual
// flags override a preset (train_mnist's recipes). A program that takes words without "--"
// (regularization_report's LABEL=CKPT list) declares them with positional(); words() returns
// them in order. Without that declaration a positional word is an error.
#pragma once
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"

namespace bilin {

class Flags {
 public:
  Flags(std::string program, std::string summary)
      : program_(std::move(program)), summary_(std::move(summary)) {}

  // --name VALUE, `def` when not given. `metavar` names the value in --help.
  Flags& value(std::string name, std::string def, std::string help, std::string metavar = "VALUE") {
    add(Entry{std::move(name), std::move(def), std::move(help), std::move(metavar), false, "", false});
    return *this;
  }
  // --name alone: on(name) is true when given.
  Flags& toggle(std::string name, std::string help) {
    add(Entry{std::move(name), "", std::move(help), "", true, "", false});
    return *this;
  }

  // Words without "--", in order, listed in --help as METAVAR...
  Flags& positional(std::string metavar, std::string help) {
    positional_metavar_ = std::move(metavar);
    positional_help_ = std::move(help);
    return *this;
  }
  const std::vector<std::string>& words() const { return words_; }

  // Returns false when the user asked for --help (usage already printed to stdout).
  bool parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        std::cout << usage();
        return false;
      }
      if (!positional_metavar_.empty() && a.rfind("-", 0) != 0) {
        words_.push_back(a);
        continue;
      }
      if (a.rfind("--", 0) != 0 || a.size() == 2)
        throw Error(program_, msg("unexpected argument '", a, "' (flags look like --name VALUE; see --help)"));
      a = a.substr(2);
      std::string val;
      const auto eq = a.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        val = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
      Entry& e = find_or_throw(a);
      if (e.given) throw Error(program_, msg("--", a, " is given twice"));
      e.given = true;
      if (e.is_toggle) {
        if (inline_value) throw Error(program_, msg("--", a, " is a switch and takes no value (got '", val, "')"));
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= argc) throw Error(program_, msg("--", a, " needs a value (", e.metavar, ")"));
        val = argv[++i];
      }
      e.value = val;
    }
    return true;
  }

  bool given(std::string_view name) const { return entry(name).given; }
  bool on(std::string_view name) const {
    const Entry& e = entry(name);
    if (!e.is_toggle) throw Error(program_, msg("--", name, " is not a switch"));
    return e.given;
  }
  const std::string& str(std::string_view name) const { return entry(name).value; }

  long long integer(std::string_view name) const {
    const std::string& s = str(name);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE)
      throw Error(program_, msg("--", name, " expects an integer, got '", s, "'"));
    return v;
  }
  double real(std::string_view name) const {
    const std::string& s = str(name);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') throw Error(program_, msg("--", name, " expects a number, got '", s, "'"));
    return v;
  }
  // A comma-separated value as its items (empty items dropped: "a,,b" → a, b).
  std::vector<std::string> list(std::string_view name) const {
    std::vector<std::string> out;
    const std::string& s = str(name);
    std::size_t b = 0;
    while (b <= s.size()) {
      const std::size_t e = std::min(s.find(',', b), s.size());
      if (e > b) out.push_back(s.substr(b, e - b));
      b = e + 1;
    }
    return out;
  }
  // A comma-separated list of numbers; every item must be one.
  std::vector<double> reals(std::string_view name) const {
    const std::string& s = str(name);
    std::vector<double> out;
    std::size_t b = 0;
    while (b <= s.size()) {
      const std::size_t e = std::min(s.find(',', b), s.size());
      const std::string item = s.substr(b, e - b);
      char* end = nullptr;
      const double v = std::strtod(item.c_str(), &end);
      if (item.empty() || *end != '\0')
        throw Error(program_, msg("--", name, " expects numbers separated by commas, got '", s, "' (bad item '", item, "')"));
      out.push_back(v);
      b = e + 1;
    }
    return out;
  }
  // The value, which must be one of `allowed`.
  const std::string& choice(std::string_view name, std::initializer_list<std::string_view> allowed) const {
    const std::string& s = str(name);
    if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
    std::string list;
    for (auto a : allowed) {
      if (!list.empty()) list += '|';
      list += a;
    }
    throw Error(program_, msg("--", name, " expects one of ", list, ", got '", s, "'"));
  }

  std::string usage() const {
    std::ostringstream os;
    os << "usage: " << program_ << " [flags]";
    if (!positional_metavar_.empty()) os << " " << positional_metavar_ << "...";
    os << "\n" << summary_ << "\n";
    if (!positional_metavar_.empty()) os << "\n" << positional_metavar_ << ": " << positional_help_ << "\n";
    os << "\nflags:\n";
    std::size_t w = 0;
    for (const Entry& e : entries_) w = std::max(w, head(e).size());
    for (const Entry& e : entries_) {
      const std::string h = head(e);
      os << "  " << h << std::string(w - h.size() + 2, ' ') << e.help;
      if (!e.is_toggle && !e.value_default.empty()) os << " (default " << e.value_default << ")";
      os << "\n";
    }
    os << "  --help" << std::string(w >= 6 ? w - 6 + 2 : 2, ' ') << "print this text\n";
    return os.str();
  }

 private:
  struct Entry {
    std::string name, value_default, help, metavar;
    bool is_toggle = false;
    std::string value;
    bool given = false;
  };

  void add(Entry e) {
    if (e.name.empty() || e.name.rfind("-", 0) == 0 || e.name.find('=') != std::string::npos)
      throw Error(program_, msg("flag name '", e.name, "' must be non-empty, without leading '-' or '='"));
    for (const Entry& o : entries_)
      if (o.name == e.name) throw Error(program_, msg("flag --", e.name, " is declared twice"));
    e.value = e.value_default;
    entries_.push_back(std::move(e));
  }
  static std::string head(const Entry& e) { return "--" + e.name + (e.is_toggle ? "" : " " + e.metavar); }

  const Entry& entry(std::string_view name) const {
    for (const Entry& e : entries_)
      if (e.name == name) return e;
    throw Error(program_, msg("flag --", name, " was never declared"));  // a program bug
  }
  Entry& find_or_throw(const std::string& name) {
    for (Entry& e : entries_)
      if (e.name == name) return e;
    std::string best;
    std::size_t best_d = 3;  // suggest only near misses: typos, not guesses
    for (const Entry& e : entries_) {
      const std::size_t d = edit_distance(name, e.name);
      if (d < best_d) best_d = d, best = e.name;
    }
    throw Error(program_, msg("unknown flag --", name, best.empty() ? "" : " (did you mean --" + best + "?)",
                              "; see --help"));
  }
  static std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diag = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
        diag = up;
      }
    }
    return row[b.size()];
  }

  std::string program_, summary_;
  std::vector<Entry> entries_;
  std::string positional_metavar_, positional_help_;
  std::vector<std::string> words_;
};

}  // namespace bilin
