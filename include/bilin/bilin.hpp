// bilin/bilin.hpp — everything, in one include.
//
// bilin: header-only C++20 tensors, reverse-mode autodiff, fast CPU kernels, bilinear layers,
// symmetric eigensolvers and the weight-based interpretability analyses of "Bilinear MLPs
// enable weight-based mechanistic interpretability" (Pearce et al., ICLR 2025).
// Data flows one way: data → tensors → autodiff ops → modules → trainer → analysis → report.
// Contract: this header is the module headers together (core, linalg, data, io, interp); it
// compiles the stb image codec into the translation unit (through io/png.hpp). The training
// loops and checkpoints (train/) are included by name, not from here: their namespace
// bilin::train would clash with a program's own `train` function under `using namespace bilin`.
// For faster compiles include only the module you use: bilin/core.hpp for models and training
// steps, without files, images, eigensolvers or analyses. Each header below, and each header
// they include, also compiles on its own and documents its contract at the top.
#pragma once

#include "core.hpp"    // tensors, kernels, autograd, ops, nn, optim
#include "data.hpp"    // datasets, batching, augmentation, tokenizers
#include "interp.hpp"  // the paper's analyses
#include "io.hpp"      // files: safetensors, JSON, PNG, SVG, HTML report, flags
#include "linalg.hpp"  // symmetric eigensolvers
