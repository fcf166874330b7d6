// bilin/core.hpp — the light include: tensors, autodiff, differentiable ops, modules and
// optimizers, i.e. everything needed to build and train a model.
//
// Contract: includes core/ (Tensor<T>, shapes and broadcasting, seeded random numbers,
// bilin::Error, the SIMD target), kernels/ (GEMM, elementwise maps, reductions; xsimd and
// OpenMP), autograd/ (graph recording, the reverse sweep, gradcheck), ops/ (every
// differentiable op), nn/ (modules) and optim/ (optimizers, schedules, clipping), plus
// io/json.hpp (model configurations are JSON). It pulls in nothing that reads or writes files
// beyond that, no eigensolvers, no datasets, no analyses and no image codec (stb): those are
// bilin/linalg.hpp, bilin/data.hpp, bilin/io.hpp and bilin/interp.hpp, and bilin/bilin.hpp is
// all of them. Why: a learner's edit-compile loop pays for every header it parses.
#pragma once

// the tensor type, shapes and broadcasting, random numbers, errors, the SIMD target
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/shape.hpp"
#include "core/simd.hpp"
#include "core/tensor.hpp"

// raw loops without autodiff
#include "kernels/elementwise.hpp"
#include "kernels/gemm.hpp"
#include "kernels/reduce.hpp"

// how ops record themselves and the reverse sweep
#include "autograd/engine.hpp"
#include "autograd/function.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/untracked.hpp"

// differentiable ops, each with its forward and backward side by side
#include "ops/attention.hpp"
#include "ops/elementwise.hpp"
#include "ops/indexing.hpp"
#include "ops/linear.hpp"
#include "ops/lm_head.hpp"
#include "ops/matmul.hpp"
#include "ops/precision_scope.hpp"
#include "ops/reduce.hpp"
#include "ops/rmsnorm.hpp"
#include "ops/rope.hpp"
#include "ops/softmax.hpp"
#include "ops/sparse_code.hpp"
#include "ops/views.hpp"

// modules and optimizers
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
#include "nn/sae.hpp"
#include "nn/transformer.hpp"
#include "optim/adamw.hpp"
#include "optim/clip.hpp"
#include "optim/constrained_adam.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"
#include "optim/sgd.hpp"
