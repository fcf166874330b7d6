// bilin/linalg.hpp — symmetric eigensolvers and a thin QR.
//
// Contract: includes linalg/ (eigh: one entry point choosing the method; Jacobi; Householder
// tridiagonalization with implicit QL or divide and conquer; block Lanczos for the top
// eigenpairs of large or matrix-free operators; Householder thin QR). They work on Tensor<T> and raw buffers and
// pull in core/ and kernels/ only: no autodiff, no files, no stb.
#pragma once

#include "linalg/eigh.hpp"
#include "linalg/jacobi.hpp"
#include "linalg/lanczos.hpp"
#include "linalg/qr.hpp"
#include "linalg/tridiagonal.hpp"
