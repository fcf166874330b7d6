// bilin/bilin.hpp — the one include a user needs.
//
// bilin: header-only C++20 tensors, reverse-mode autodiff, fast CPU kernels, bilinear layers,
// symmetric eigensolvers and the weight-based interpretability analyses of "Bilinear MLPs
// enable weight-based mechanistic interpretability" (Pearce et al., ICLR 2025).
// Data flows one way: data → tensors → autodiff ops → modules → trainer → analysis → report.
// Each header below can also be included on its own; each documents its contract at the top.
#pragma once

// core: the tensor type, shapes and broadcasting, random numbers, errors
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"

// kernels: raw loops without autodiff
#include "kernels/elementwise.hpp"
#include "kernels/gemm.hpp"
#include "kernels/reduce.hpp"

// differentiable ops and the reverse sweep
#include "autograd/function.hpp"
#include "ops/attention.hpp"
#include "ops/elementwise.hpp"
#include "ops/indexing.hpp"
#include "ops/linear.hpp"
#include "ops/lm_head.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "ops/rmsnorm.hpp"
#include "ops/rope.hpp"
#include "ops/softmax.hpp"
#include "ops/views.hpp"
#include "autograd/engine.hpp"
#include "autograd/gradcheck.hpp"

// modules, optimizers, training
#include "nn/attention.hpp"
#include "nn/bilinear.hpp"
#include "nn/classifier.hpp"
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/generate.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/module.hpp"
#include "nn/rmsnorm.hpp"
#include "nn/transformer.hpp"
#include "optim/adamw.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"

// symmetric eigensolvers
#include "linalg/eigh.hpp"
#include "linalg/jacobi.hpp"
#include "linalg/lanczos.hpp"

// data and files
#include "data/augment.hpp"
#include "data/idx.hpp"
#include "data/loader.hpp"
#include "data/text.hpp"
#include "io/atomic_file.hpp"
#include "train/checkpoint.hpp"
#include "io/html_report.hpp"
#include "io/json.hpp"
#include "io/png.hpp"
#include "io/safetensors.hpp"
#include "io/svg.hpp"

// the paper's analyses
#include "interp/adversarial.hpp"
#include "interp/bilinear_tensor.hpp"
#include "interp/decompose.hpp"
#include "interp/explain.hpp"
#include "interp/figures.hpp"
#include "interp/quadratic_classifier.hpp"
#include "interp/spectral.hpp"
#include "interp/toy.hpp"
#include "interp/truncation.hpp"
