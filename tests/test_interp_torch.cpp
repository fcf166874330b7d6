// A checkpoint exported from PyTorch with the official code's layout (tdooms/bilinear-decomposition
// src/image/model.py: embed.weight [d, 784], blocks.0.weight [2d, d], head.weight [10, d]) loads
// and decomposes to what PyTorch computes: the same logits, and the same eigenvalues and
// pixel-space eigenvectors as the official decompose() (torch.linalg.eigh in float64).
// Skipped with a message when /usr/bin/python3 has no torch.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "bilin/bilin.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/io/safetensors.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

// Writes two safetensors files by hand (the Debian python has torch but not the safetensors
// package): the model in the official layout, and reference values computed by torch.
const char* kInterpScript = R"PY(
import json, struct, sys, torch
torch.manual_seed(0)
d, C = 48, 10
embed = torch.nn.Linear(784, d, bias=False)
block = torch.nn.Linear(d, 2 * d, bias=False)   # official Bilinear: one Linear d -> 2d, halves l, r
head = torch.nn.Linear(d, C, bias=False)
x = torch.rand(32, 784)
with torch.no_grad():
    l, r = block(embed(x)).chunk(2, dim=-1)
    logits = head(l * r)
    # official Model.decompose(), in float64
    w = block.weight.double().view(2, d, d)        # "(s o) h -> s o h"
    b = torch.einsum("co,oi,oj->cij", head.weight.double(), w[0], w[1])
    b = 0.5 * (b + b.transpose(1, 2))
    vals, vecs = torch.linalg.eigh(b)
    vecs = torch.einsum("cek,ei->cki", vecs, embed.weight.double())  # "cls emb comp, emb inp -> cls comp inp"

def save(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        dt = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        raw = t.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for blob in blobs: f.write(blob)

save(sys.argv[1], {"embed.weight": embed.weight.detach(), "blocks.0.weight": block.weight.detach(),
                   "head.weight": head.weight.detach()})
save(sys.argv[2], {"x": x, "logits": logits, "eigvals": vals, "top_vec": vecs[:, -1, :], "bottom_vec": vecs[:, 0, :]})
)PY";

bool have_torch() { return std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") == 0; }

double cosine(const float* a, const double* b, index_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (index_t i = 0; i < n; ++i) ab += a[i] * b[i], aa += static_cast<double>(a[i]) * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST_CASE("a PyTorch export with the official layout decomposes like torch.linalg.eigh", "[interp][torch]") {
  if (!have_torch()) {
    WARN("SKIPPED: /usr/bin/python3 with torch is not available");
    return;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("bilin_interp_torch_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string script = (dir / "export.py").string(), model_path = (dir / "model.safetensors").string(),
                    ref_path = (dir / "ref.safetensors").string();
  std::ofstream(script) << kInterpScript;
  const std::string cmd = "/usr/bin/python3 " + script + " " + model_path + " " + ref_path;
  REQUIRE(std::system(cmd.c_str()) == 0);

  const BilinearClassifier<float> model = load_bilinear_classifier<float>(model_path);
  const io::TensorMap ref = io::load_safetensors(ref_path);
  REQUIRE(model.hidden_dim() == 48);
  REQUIRE(!model.augmented());

  // Same logits as torch's forward.
  const TensorF x = ref.get<float>("x");
  const TensorF want = ref.get<float>("logits");
  const TensorF got = model.logits(x);
  for (index_t k = 0; k < want.numel(); ++k) REQUIRE(got.data()[k] == Approx(want.data()[k]).margin(1e-4));

  // Same spectrum and the same extreme eigenvectors (up to sign) as the official decompose().
  const auto comps = decompose_classes(model);
  const TensorD vals = ref.get<double>("eigvals");      // [10, 48] ascending
  const TensorD top = ref.get<double>("top_vec");       // [10, 784]
  const TensorD bottom = ref.get<double>("bottom_vec");
  for (index_t c = 0; c < 10; ++c) {
    const auto& ec = comps[c];
    double scale = 0;
    for (index_t i = 0; i < 48; ++i) scale = std::max(scale, std::fabs(vals.at({c, i})));
    for (index_t i = 0; i < 48; ++i) REQUIRE(ec.value(i) == Approx(vals.at({c, 47 - i})).margin(1e-5 * scale));
    REQUIRE(std::fabs(cosine(ec.input(0), top.data() + c * 784, 784)) > 0.9999);
    REQUIRE(std::fabs(cosine(ec.input(47), bottom.data() + c * 784, 784)) > 0.9999);
  }
  std::filesystem::remove_all(dir);
}
