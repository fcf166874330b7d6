// safetensors interop with NumPy and PyTorch (Debian's /usr/bin/python3 with python3-torch).
// The Python side reads and writes the format by hand (json + numpy.frombuffer), because the
// `safetensors` package is not installed: that also makes it an independent reference for the
// byte layout. Skipped with a message when /usr/bin/python3, numpy or torch is unavailable.
#include <sys/wait.h>
#include <unistd.h>

#include <bilin/io/safetensors.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_support.hpp"

using bilin::Tensor;
namespace io = bilin::io;

namespace {

const char* kSafetensorsScript = R"PY(
import json, struct, sys
try:
    import numpy as np
    import torch
except Exception as e:  # noqa: BLE001
    print("cannot import numpy/torch:", e)
    sys.exit(77)

NP = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32,
      "U16": np.uint16, "U8": np.uint8, "F16": np.float16, "BOOL": np.bool_}

def read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype=np.dtype(NP[info["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"])
    return n, meta, out

def expect(cond, what):
    if not cond:
        print("MISMATCH:", what)
        sys.exit(1)

mode, path = sys.argv[1], sys.argv[2]
if mode == "check":
    n, meta, t = read(path)
    expect((8 + n) % 8 == 0, "header not padded to 8 bytes: %d" % n)
    expect(meta == {"format": "pt", "epoch": "3"}, "metadata %r" % meta)
    expect(list(t) == ["w", "d", "i", "u", "s", "e", "i32", "u16"], "order %r" % list(t))
    w = np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.5) - np.float32(1)
    expect(t["w"].dtype == np.float32 and np.array_equal(t["w"], w), "w %r" % t["w"])
    expect(np.array_equal(t["d"], np.array([1 / 3, -1e-300])), "d %r" % t["d"])
    expect(np.array_equal(t["i"], np.array([-1, 2**40, 7], dtype=np.int64)), "i %r" % t["i"])
    expect(np.array_equal(t["u"], np.array([[0, 1], [254, 255]], dtype=np.uint8)), "u %r" % t["u"])
    expect(t["s"].shape == () and float(t["s"]) == 3.25, "s %r" % t["s"])
    expect(t["e"].shape == (0, 3), "e %r" % (t["e"].shape,))
    expect(np.array_equal(t["i32"], np.array([-2147483648, 5], dtype=np.int32)), "i32")
    expect(np.array_equal(t["u16"], np.array([65535, 0, 42], dtype=np.uint16)), "u16")
    # The same data through PyTorch (uint16 has no torch dtype in 1.13, so it is left out).
    tw = torch.from_numpy(t["w"].copy())
    expect(tw.dtype == torch.float32 and torch.equal(tw, torch.arange(12.0).reshape(3, 4) * 0.5 - 1), "torch w")
    expect(torch.from_numpy(t["i"].copy()).dtype == torch.int64, "torch i dtype")
    expect(torch.from_numpy(t["s"].copy()).dim() == 0, "torch 0-d")
    print("python read the bilin file correctly")
elif mode == "write":
    g = torch.Generator().manual_seed(0)
    tensors = {
        # Keys not sorted, written in this order; no header padding: bilin must not need it.
        "layer.weight": torch.linspace(-1, 1, 6, dtype=torch.float32).reshape(2, 3),
        "layer.bias": torch.tensor([1e-8, 2.5], dtype=torch.float64),
        "steps": torch.tensor(123456789012, dtype=torch.int64),
        "pixels": torch.tensor([[0, 128, 255]], dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
        "half": torch.tensor([0.5, -3.0], dtype=torch.float16),
        "none": torch.zeros(0, 5, dtype=torch.float32),
    }
    dt = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8",
          torch.bool: "BOOL", torch.float16: "F16"}
    header, blobs, off = {"__metadata__": {"framework": "torch " + torch.__version__}}, [], 0
    for name, x in tensors.items():
        b = x.contiguous().numpy().tobytes()
        header[name] = {"dtype": dt[x.dtype], "shape": list(x.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    print("python wrote", path)
)PY";

// Runs the script; returns its exit status and fills `out` with what it printed.
int run_python(const std::string& dir, const std::string& mode, const std::string& file, std::string& out) {
  const std::string script = dir + "/interop.py", log = dir + "/log.txt";
  io::write_file_atomic(script, std::string(kSafetensorsScript));
  const std::string cmd = "/usr/bin/python3 " + script + " " + mode + " " + file + " > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  out = io::read_file(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("safetensors files move between bilin and NumPy/PyTorch", "[io][safetensors][python]") {
  if (::access("/usr/bin/python3", X_OK) != 0) {
    WARN("skipped: /usr/bin/python3 not found (install python3-numpy and python3-torch)");
    return;
  }
  bilin_test::TempDir td("st_python");
  std::string out;

  // bilin -> Python
  const std::string a = td.path + "/from_bilin.safetensors";
  std::vector<float> w(12);
  for (int i = 0; i < 12; ++i) w[static_cast<std::size_t>(i)] = static_cast<float>(i) * 0.5f - 1.0f;
  io::save_safetensors(a,
                       {{"w", Tensor<float>::from_vector(w, {3, 4})},
                        {"d", Tensor<double>::from({1.0 / 3.0, -1e-300})},
                        {"i", Tensor<std::int64_t>::from({-1, 1LL << 40, 7})},
                        {"u", Tensor<std::uint8_t>::from({{0, 1}, {254, 255}})},
                        {"s", Tensor<float>::scalar(3.25f)},
                        {"e", Tensor<float>::empty({0, 3})},
                        {"i32", Tensor<std::int32_t>::from({-2147483647 - 1, 5})},
                        {"u16", Tensor<std::uint16_t>::from({65535, 0, 42})}},
                       {{"format", "pt"}, {"epoch", "3"}});
  const int rc = run_python(td.path, "check", a, out);
  if (rc == 77) {
    WARN("skipped: " << out);
    return;
  }
  INFO(out);
  REQUIRE(rc == 0);

  // Python -> bilin
  const std::string b = td.path + "/from_torch.safetensors";
  REQUIRE(run_python(td.path, "write", b, out) == 0);
  const auto m = io::load_safetensors(b);
  std::vector<std::string> names;
  for (const auto& [n, t] : m) names.push_back(n);
  CHECK(names == std::vector<std::string>{"layer.weight", "layer.bias", "steps", "pixels", "mask", "half", "none"});
  const auto lw = m.get<float>("layer.weight");
  CHECK(lw.shape() == bilin::Shape{2, 3});
  const std::vector<float> expect_w = {-1.0f, -0.6f, -0.2f, 0.2f, 0.6f, 1.0f};
  for (std::size_t i = 0; i < 6; ++i) CHECK(lw.to_vector()[i] == Approx(expect_w[i]).margin(1e-7));
  CHECK(m.get<double>("layer.bias").to_vector() == std::vector<double>{1e-8, 2.5});
  CHECK(m.get<std::int64_t>("steps").shape() == bilin::Shape{});
  CHECK(m.get<std::int64_t>("steps").item() == 123456789012LL);
  CHECK(m.get<std::uint8_t>("pixels").to_vector() == std::vector<std::uint8_t>{0, 128, 255});
  CHECK(m.at("mask").file_dtype() == "BOOL");
  CHECK(m.get<std::uint8_t>("mask").to_vector() == std::vector<std::uint8_t>{1, 0, 1});
  CHECK(m.get<float>("half").to_vector() == std::vector<float>{0.5f, -3.0f});
  CHECK(m.at("none").shape() == bilin::Shape{0, 5});
  CHECK(m.metadata.at("framework").rfind("torch ", 0) == 0);

  // And back: bilin re-saves the PyTorch file; Python-written bytes survive a bilin round trip.
  const std::string c = td.path + "/again.safetensors";
  io::save_safetensors(c, m);
  CHECK(io::load_safetensors(c).get<double>("layer.bias").to_vector() == std::vector<double>{1e-8, 2.5});
}
