// Checkpoints: round trip of model + optimizer state, clear errors for damaged or mismatched
// files (and the model left untouched), and interop with PyTorch's official model layout.
#include <sys/stat.h>
#include <unistd.h>

#include <bilin/bilin.hpp>
#include <bilin/train/checkpoint.hpp>
#include <bilin/nn/classifier.hpp>
#include <bilin/optim/adamw.hpp>
#include <bilin/optim/sgd.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "test_support.hpp"

using namespace bilin;
using Catch::Matchers::Contains;

namespace {

nn::ClassifierConfig small() {
  nn::ClassifierConfig c;
  c.d_input = 20;
  c.d_hidden = 8;
  c.d_output = 3;
  return c;
}

// A few AdamW steps on random data so the optimizer has state.
void train_steps(nn::ImageClassifier<float>& m, optim::Optimizer<float>& opt, Generator& g, int steps) {
  for (int s = 0; s < steps; ++s) {
    auto x = TensorF::randn({6, 20}, g);
    auto y = Tensor<std::int64_t>::from_vector({0, 1, 2, 0, 1, 2});
    opt.zero_grad();
    cross_entropy(m.forward(x), y).backward();
    opt.step();
  }
}


}  // namespace

TEST_CASE("checkpoint: model + optimizer round trip continues identically", "[checkpoint]") {
  bilin_test::TempDir dir("ckpt");
  const std::string path = dir.path + "/ck.safetensors";
  Generator g(1);
  nn::ImageClassifier<float> a(small(), g);
  optim::AdamWOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.2;
  optim::AdamW<float> oa(a.parameters(), o);
  train_steps(a, oa, g, 3);
  oa.set_lr(0.00731);
  train::save_checkpoint<float>(path, a, &oa, {{"note", "hello"}, {"model.config", small().to_json()}});

  Generator g2(999);  // different init: everything must come from the file
  nn::ImageClassifier<float> b(small(), g2);
  optim::AdamW<float> ob(b.parameters(), o);
  const auto meta = train::load_checkpoint<float>(path, b, &ob);
  CHECK(meta.at("note") == "hello");
  CHECK(meta.at("format") == train::kCheckpointFormat);
  CHECK(meta.at("optim.kind") == "adamw");
  CHECK(io::read_checkpoint_metadata(path) == meta);
  CHECK(nn::ClassifierConfig::from_json(meta.at("model.config")).d_hidden == 8);
  CHECK(ob.steps() == 3);
  CHECK(ob.lr() == 0.00731);
  CHECK(ob.param_steps() == oa.param_steps());
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    CHECK(a.parameters()[i].to_vector() == b.parameters()[i].to_vector());

  Generator ga(5), gb(5);
  train_steps(a, oa, ga, 2);
  train_steps(b, ob, gb, 2);
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    CHECK(a.parameters()[i].to_vector() == b.parameters()[i].to_vector());  // bit-identical

  // model-only file: loads without an optimizer, refuses to restore one
  const std::string mpath = dir.path + "/model.safetensors";
  train::save_checkpoint<float>(mpath, a);
  nn::ImageClassifier<float> c(small(), g2);
  train::load_checkpoint<float>(mpath, c);
  CHECK(c.parameters()[0].to_vector() == a.parameters()[0].to_vector());
  CHECK_THROWS_WITH(train::load_checkpoint<float>(mpath, c, &ob), Contains("no optimizer state"));
  optim::SGD<float> sgd(c.parameters(), {});
  CHECK_THROWS_WITH(train::load_checkpoint<float>(path, c, &sgd), Contains("'adamw'") && Contains("'sgd'"));
}

TEST_CASE("checkpoint: damaged or mismatched files give clear errors and leave the model alone", "[checkpoint]") {
  bilin_test::TempDir dir("ckpt");
  const std::string path = dir.path + "/ck.safetensors";
  Generator g(2);
  nn::ImageClassifier<float> a(small(), g);
  train::save_checkpoint<float>(path, a);
  const std::string good = bilin_test::slurp(path);
  nn::ImageClassifier<float> m(small(), g);
  const auto before = m.parameters()[0].to_vector();
  auto untouched = [&] { CHECK(m.parameters()[0].to_vector() == before); };

  CHECK_THROWS_WITH(train::load_checkpoint<float>(dir.path + "/missing.safetensors", m),
                    Contains("load_checkpoint") && Contains("missing.safetensors"));

  const std::string trunc = dir.path + "/trunc.safetensors";
  bilin_test::spit(trunc, good.substr(0, good.size() - 100));
  CHECK_THROWS_WITH(train::load_checkpoint<float>(trunc, m), Contains("load_checkpoint") && Contains("trunc.safetensors"));
  untouched();

  const std::string tiny = dir.path + "/tiny.safetensors";
  bilin_test::spit(tiny, good.substr(0, 5));
  CHECK_THROWS_WITH(train::load_checkpoint<float>(tiny, m), Contains("tiny.safetensors"));
  CHECK_THROWS_WITH(io::read_checkpoint_metadata(tiny), Contains("too short"));

  std::string bad = good;
  bad[8] = '#';  // the header's opening brace
  const std::string badjson = dir.path + "/badjson.safetensors";
  bilin_test::spit(badjson, bad);
  CHECK_THROWS_WITH(train::load_checkpoint<float>(badjson, m), Contains("badjson.safetensors") && Contains("byte"));
  CHECK_THROWS_WITH(io::read_checkpoint_metadata(badjson), Contains("byte 8"));
  untouched();

  std::string huge = good;
  huge[0] = '\xff';
  huge[5] = '\x7f';  // header length far beyond the file
  const std::string hugelen = dir.path + "/hugelen.safetensors";
  bilin_test::spit(hugelen, huge);
  CHECK_THROWS_WITH(train::load_checkpoint<float>(hugelen, m), Contains("hugelen.safetensors"));
  CHECK_THROWS_WITH(io::read_checkpoint_metadata(hugelen), Contains("header length"));

  auto wide = small();
  wide.d_hidden = 9;
  nn::ImageClassifier<float> w(wide, g);
  CHECK_THROWS_WITH(train::load_checkpoint<float>(path, w),
                    Contains("embed.weight") && Contains("[8,20]") && Contains("[9,20]"));
  auto two = small();
  two.n_layer = 2;
  nn::ImageClassifier<float> t2(two, g);
  const auto t2_before = t2.parameters()[0].to_vector();
  CHECK_THROWS_WITH(train::load_checkpoint<float>(path, t2), Contains("missing model tensor 'blocks.1.weight'"));
  CHECK(t2.parameters()[0].to_vector() == t2_before);
  auto zero = small();
  zero.n_layer = 0;
  nn::ImageClassifier<float> z(zero, g);
  CHECK_THROWS_WITH(train::load_checkpoint<float>(path, z), Contains("unexpected tensor 'blocks.0.weight'"));
  train::load_checkpoint<float>(path, z, nullptr, /*strict=*/false);  // non-strict ignores extras
}

namespace {
const char* kTorchScript = R"PY(
import json, struct, sys
try:
    import numpy as np
    import torch
    from torch import nn
except Exception as e:
    print("SKIP cannot import numpy/torch:", e); sys.exit(0)

def read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = {"F32": np.float32, "F64": np.float64, "I64": np.int64}[info["dtype"]]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=dt).reshape(info["shape"]).copy())
    return meta, out

def write(path, tensors, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        b = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

# The official architecture (tdooms/bilinear-decomposition src/image/model.py), written out.
class Bilinear(nn.Linear):
    def forward(self, x):
        left, right = super().forward(x).chunk(2, dim=-1)
        return left * right
class Model(nn.Module):
    def __init__(self, d_input, d_hidden, d_output):
        super().__init__()
        self.embed = nn.Linear(d_input, d_hidden, bias=False)
        self.blocks = nn.ModuleList([Bilinear(d_hidden, 2 * d_hidden, bias=False)])
        self.head = nn.Linear(d_hidden, d_output, bias=False)
    def forward(self, x):
        x = self.embed(x.flatten(start_dim=1))
        for layer in self.blocks:
            x = layer(x)
        return self.head(x)

mode, ckpt, io_path = sys.argv[1], sys.argv[2], sys.argv[3]
model = Model(20, 8, 3)
if mode == "check":
    meta, sd = read(ckpt)
    model.load_state_dict(sd, strict=True)   # names and shapes are the official ones
    _, io = read(io_path)
    with torch.no_grad():
        y = model(io["x"])
    err = (y - io["logits"]).abs().max().item()
    if err > 1e-5:
        print("MISMATCH logits differ by", err); sys.exit(1)
    print("ok torch loaded the bilin checkpoint, logits agree to", err)
else:
    torch.manual_seed(0)
    model = Model(20, 8, 3)
    x = torch.randn(4, 20)
    with torch.no_grad():
        y = model(x)
    write(ckpt, dict(model.state_dict()), {"source": "torch"})
    write(io_path, {"x": x, "logits": y}, {})
    print("ok wrote")
)PY";

std::string run_python(const std::string& script, const std::string& args, int& rc) {
  FILE* p = ::popen(("/usr/bin/python3 " + script + " " + args + " 2>&1").c_str(), "r");
  if (!p) {
    rc = -1;
    return "cannot start /usr/bin/python3";
  }
  char buf[4096];
  std::string text;
  while (std::fgets(buf, sizeof buf, p)) text += buf;
  rc = ::pclose(p);
  return text;
}
}  // namespace

TEST_CASE("checkpoint: PyTorch loads bilin checkpoints into the official model and vice versa",
          "[checkpoint][torch]") {
  if (::access("/usr/bin/python3", X_OK) != 0) {
    WARN("skipped: /usr/bin/python3 not found");
    return;
  }
  bilin_test::TempDir dir("ckpt");
  const std::string script = dir.path + "/official.py";
  bilin_test::spit(script, kTorchScript);

  // bilin → torch
  Generator g(4);
  nn::ImageClassifier<float> m(small(), g);
  const std::string ck = dir.path + "/bilin.safetensors", iof = dir.path + "/io.safetensors";
  train::save_checkpoint<float>(ck, m, nullptr, {{"model.config", small().to_json()}});
  auto x = TensorF::randn({4, 20}, g);
  TensorF logits;
  {
    NoGradGuard ng;
    logits = m.forward(x);
  }
  io::save_safetensors(iof, {{"x", x}, {"logits", logits}});
  int rc = 0;
  std::string out = run_python(script, "check " + ck + " " + iof, rc);
  if (out.rfind("SKIP", 0) == 0) {
    WARN("skipped: " << out);
    return;
  }
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("ok torch loaded") != std::string::npos);

  // torch → bilin
  const std::string tck = dir.path + "/torch.safetensors", tio = dir.path + "/tio.safetensors";
  out = run_python(script, "write " + tck + " " + tio, rc);
  INFO(out);
  REQUIRE(rc == 0);
  nn::ImageClassifier<float> b(small(), g);
  const auto meta = train::load_checkpoint<float>(tck, b);
  CHECK(meta.at("source") == "torch");
  const auto ref = io::load_safetensors(tio);
  NoGradGuard ng;
  const auto y = b.forward(ref.get<float>("x")).to_vector();
  const auto want = ref.get<float>("logits").to_vector();
  REQUIRE(y.size() == want.size());
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(want[i]).margin(1e-5));
}
