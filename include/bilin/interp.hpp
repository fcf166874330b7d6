// bilin/interp.hpp — the paper's analyses of bilinear layers.
//
// Contract: includes interp/ (the bilinear tensor, interaction matrices Q(u) and their
// per-output eigendecomposition, truncation curves, weight-only adversarial directions, the
// quadratic classifier read from a checkpoint, explanations of single inputs, the in-browser
// explorer page, SAE feature dashboards, the toy tasks, figures and report sections; for language
// models: Q(u) batched over output features, exactness, latent basis, low-rank correlation curves,
// circuits). Pulls in
// bilin/core.hpp's modules, bilin/linalg.hpp's eigensolvers and the io/ pieces the figures need,
// stb's PNG encoder included.
#pragma once

#include "interp/adversarial.hpp"
#include "interp/bilinear_tensor.hpp"
#include "interp/circuits.hpp"
#include "interp/decompose.hpp"
#include "interp/explain.hpp"
#include "interp/explorer.hpp"
#include "interp/figures.hpp"
#include "interp/interaction_batch.hpp"
#include "interp/latent_basis.hpp"
#include "interp/lm_figures.hpp"
#include "interp/lm_mlp.hpp"
#include "interp/lowrank_correlation.hpp"
#include "interp/quadratic_classifier.hpp"
#include "interp/sae_features.hpp"
#include "interp/spectral.hpp"
#include "interp/toy.hpp"
#include "interp/truncation.hpp"
