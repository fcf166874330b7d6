// bilin/interp/decomposition_export.hpp — an image classifier's decomposition as files NumPy and
// PyTorch read directly (io/result_bundle.hpp: DIR/decomposition.safetensors + DIR/decomposition.json).
//
// Contract: export_decomposition(dir, model, comps, class_names, hosvd, info) writes, for C
// classes, n = form size (the layer width d, +1 with a constant input), D = pixels:
//   eigenvalues          F32 [C, n]     per class, descending (decompose.hpp's order)
//   eigenvectors         F32 [C, n, n]  row i = unit eigenvector of eigenvalues[c, i] in the
//                                       layer's input space z̃ (the embedding output, then 1)
//   eigenvectors_pixels  F32 [C, n, D]  the same through the embedding: embedᵀ v[:d]
//   offsets              F32 [C, n]     v[d] (weight of the constant input; 0 without one)
// so that logit_c(x) = Σ_i eigenvalues[c,i]·(eigenvectors_pixels[c,i]·x + offsets[c,i])² for a
// normalized input x (the JSON gives the normalization), exactly up to float rounding. With
// a ClassifierHosvd of K shown components it adds
//   hosvd_singular_values F64 [C], hosvd_directions F64 [C, C] (row k = output direction u_k
//   over the classes), hosvd_eigenvalues F32 [K, n], hosvd_eigenvectors F32 [K, n, n],
//   hosvd_eigenvectors_pixels F32 [K, n, D] (component k's Q(u_k)/σ_k, same layout).
// The JSON index also holds "class_names", "identity" (the formula above), "sign_convention",
// "form_size", "layer_width", "pixels", and every field of `info` (e.g. checkpoint, dataset,
// input normalization). Returns the two paths. Shape mismatches between comps and the model
// throw bilin::Error("export_decomposition", ...) before anything is written.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "../io/json.hpp"
#include "../io/result_bundle.hpp"
#include "decompose.hpp"
#include "hosvd.hpp"
#include "quadratic_classifier.hpp"

namespace bilin::interp {

namespace detail {
// values [m, n], vectors [m, n, n], pixels [m, n, D], offsets [m, n] stacked from components.
inline void stack_components(const std::vector<Eigencomponents<float>>& comps, index_t n, index_t D, TensorF& values,
                             TensorF& vectors, TensorF& pixels, TensorF& offsets) {
  const index_t m = static_cast<index_t>(comps.size());
  values = TensorF::empty({m, n});
  vectors = TensorF::empty({m, n, n});
  pixels = TensorF::empty({m, n, D});
  offsets = TensorF::empty({m, n});
  for (index_t c = 0; c < m; ++c) {
    const auto& ec = comps[c];
    BILIN_CHECK(ec.size() == n && ec.form_dim() == n && ec.input_dim() == D, "export_decomposition", "component set ",
                c, " has ", ec.size(), " eigenpairs of size ", ec.form_dim(), " with ", ec.input_dim(),
                " pixels; the model needs all ", n, " of size ", n, " with ", D, " pixels");
    std::copy_n(ec.values.data(), n, values.data() + c * n);
    std::copy_n(ec.vectors.data(), n * n, vectors.data() + c * n * n);
    std::copy_n(ec.inputs.data(), n * D, pixels.data() + c * n * D);
    std::copy_n(ec.offsets.data(), n, offsets.data() + c * n);
  }
}
}  // namespace detail

inline std::pair<std::string, std::string> export_decomposition(const std::string& dir,
                                                                const BilinearClassifier<float>& model,
                                                                const std::vector<Eigencomponents<float>>& comps,
                                                                const std::vector<std::string>& class_names,
                                                                const ClassifierHosvd<float>* hosvd = nullptr,
                                                                const json::Value& info = json::Value::object()) {
  model.validate("export_decomposition");
  const index_t C = model.num_classes(), n = model.form_dim(), D = model.input_dim();
  BILIN_CHECK(static_cast<index_t>(comps.size()) == C, "export_decomposition", "got ", comps.size(),
              " component sets for a model with ", C, " classes");
  io::ResultBundle b;
  TensorF vals, vecs, pix, offs;
  detail::stack_components(comps, n, D, vals, vecs, pix, offs);
  b.add("eigenvalues", vals, "per class c: eigenvalues of Q_c, descending");
  b.add("eigenvectors", vecs, "[c, i, :] unit eigenvector of eigenvalues[c, i] in the layer's input space");
  b.add("eigenvectors_pixels", pix, "[c, i, :] the eigenvector through the embedding (pixel space)");
  b.add("offsets", offs, "[c, i] weight of the constant input (0 when the model has no bias or residual)");
  if (hosvd) {
    const Hosvd& h = hosvd->hosvd;
    b.add("hosvd_singular_values", TensorD::from_vector(h.singular_values, {h.size()}),
          "singular values of the flattened [C, n*n] tensor, descending");
    b.add("hosvd_directions", h.directions, "row k: output direction u_k over the classes (unit)");
    TensorF hv, hvec, hpix, hoff;
    detail::stack_components(hosvd->components, n, D, hv, hvec, hpix, hoff);
    b.add("hosvd_eigenvalues", hv, "[k, i]: eigenvalues of component k's interaction matrix Q(u_k)/sigma_k");
    b.add("hosvd_eigenvectors", hvec, "[k, i, :] its eigenvectors in the layer's input space");
    b.add("hosvd_eigenvectors_pixels", hpix, "[k, i, :] its eigenvectors in pixel space");
  }
  json::Value& j = b.info();
  j["class_names"] = json::Value::array_of(class_names);
  j["identity"] =
      "logit_c(x) = sum_i eigenvalues[c,i] * (eigenvectors_pixels[c,i] . x + offsets[c,i])**2 for a normalized "
      "input x (head bias included in the constant input when the model has one)";
  j["sign_convention"] =
      "each eigenvector's pixel picture has a positive third moment (its dominant lobe is positive); (v.x)^2 does "
      "not depend on the sign";
  j["form_size"] = n;
  j["layer_width"] = model.layer_dim();
  j["pixels"] = D;
  j["classes"] = C;
  if (info.is_object())
    for (const auto& [k, v] : info.as_object()) j[k] = v;
  return b.write(dir, "decomposition");
}

}  // namespace bilin::interp
