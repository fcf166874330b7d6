// bilin/bilin.hpp — the one include a user needs.
//
// bilin: header-only C++20 tensors, reverse-mode autodiff, fast CPU kernels, bilinear layers,
// symmetric eigensolvers and the weight-based interpretability analyses of "Bilinear MLPs
// enable weight-based mechanistic interpretability" (Pearce et al., ICLR 2025).
// Data flows one way: data → tensors → autodiff ops → modules → trainer → analysis → report.
#pragma once

#include "core/error.hpp"
#include "core/random.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"

#include "kernels/elementwise.hpp"
#include "kernels/gemm.hpp"
#include "kernels/reduce.hpp"

#include "autograd/function.hpp"
#include "ops/elementwise.hpp"
#include "ops/indexing.hpp"
#include "ops/linear.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "ops/softmax.hpp"
#include "ops/views.hpp"
#include "autograd/engine.hpp"
#include "autograd/gradcheck.hpp"

#include "nn/bilinear.hpp"
#include "nn/init.hpp"
#include "nn/linear.hpp"
#include "nn/module.hpp"
